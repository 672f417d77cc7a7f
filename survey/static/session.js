// Warns two minutes before the manager's session ends, with a link that keeps it alive.
(function () {
  var note = document.getElementById("session-note");
  if (!note) return;
  var expires = Date.parse(note.getAttribute("data-expires"));
  var delay = expires - Date.now() - 120000;
  if (isNaN(expires)) return;
  setTimeout(function () {
    note.classList.add("session-warning");
    note.setAttribute("role", "alert");
  }, Math.max(delay, 0));
})();
