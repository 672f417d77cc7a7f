// The pairing keypad (templates/public/pair.html) types on the page itself; without this
// script each key posts the form and the page comes back with the digit added.
(function () {
  "use strict";
  var form = document.querySelector("form.pairing");
  if (!form) { return; }
  var input = form.querySelector("input[name=code]");
  var boxes = form.querySelectorAll(".code-boxes .digit");
  function show() {
    for (var i = 0; i < boxes.length; i += 1) {
      boxes[i].textContent = input.value.charAt(i);
      boxes[i].classList.toggle("filled", i < input.value.length);
    }
  }
  form.addEventListener("click", function (event) {
    var key = event.target.closest("button.key");
    if (!key) { return; }
    event.preventDefault();
    var code = input.value;
    if (key.value === "back") { code = code.slice(0, -1); }
    else if (key.value === "clear") { code = ""; }
    else if (code.length < boxes.length) { code += key.value; }
    input.value = code;
    show();
  });
}());
