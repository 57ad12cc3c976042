// Copy buttons for the transfer details (a phone cannot scan its own screen). Progressive
// enhancement: without this script the buttons stay hidden and the details are plain text.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (!navigator.clipboard) { return; }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    var label = button.firstChild.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.firstChild.textContent = button.dataset.copied;
        button.setAttribute("aria-live", "polite");
        setTimeout(function () { button.firstChild.textContent = label; }, 2000);
      });
    });
  });
});
