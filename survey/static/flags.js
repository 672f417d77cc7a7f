// The suspect ratings: one box that checks or unchecks every rating on the page (shown only
// with script; without it each row is checked on its own).
(function () {
  var all = document.getElementById("pick-all");
  if (!all) return;
  var rows = document.querySelectorAll("input.pick[name]");
  all.hidden = false;
  all.addEventListener("change", function () {
    rows.forEach(function (box) { box.checked = all.checked; });
  });
})();
