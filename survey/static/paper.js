// The paper typing page (/admin/paper): Enter moves to the next field instead of sending the
// form (in the comment, only while it is empty); Enter on the last field sends it. Beside each
// digit box, the words of the level typed. Without script, Enter sends the form as usual.
(function () {
  var form = document.querySelector("form[data-paper-entry]");
  if (!form) return;
  var fields = Array.prototype.filter.call(form.elements, function (el) {
    return (el.tagName === "INPUT" && el.type !== "hidden") || el.tagName === "SELECT" ||
      el.tagName === "TEXTAREA";
  });
  // Beside each digit box, the words of the level typed (0: not applicable), to catch a slip.
  form.addEventListener("input", function (event) {
    var box = event.target, levels = box.getAttribute("data-levels");
    if (!levels || !box.nextElementSibling) return;
    var words = levels.split("|")[parseInt(box.value, 10)];
    box.nextElementSibling.textContent = /^[0-9]$/.test(box.value) && words ? words : "";
  });
  form.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey) return;
    if (event.target.tagName === "TEXTAREA" && event.target.value !== "") return; // a new line
    var at = fields.indexOf(event.target);
    if (at < 0) return;
    event.preventDefault();
    if (at === fields.length - 1) {
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
      return;
    }
    fields[at + 1].focus();
    if (fields[at + 1].select) fields[at + 1].select();
  });
})();
