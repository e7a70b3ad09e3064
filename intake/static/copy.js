/* "Copy link" buttons: shown only where the browser can copy. Without script the link stays
   on the page as text to select, so nothing depends on this file. The button carries what to
   say after copying in the page's language (data-copied, data-copy-failed). */
(function () {
  'use strict';
  if (!navigator.clipboard || !window.isSecureContext) { return; }
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    var status = document.getElementById(button.getAttribute('data-copy-status'));
    if (!source || !status) { return; }
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        status.textContent = button.getAttribute('data-copied');
      }, function () {
        status.textContent = button.getAttribute('data-copy-failed');
      });
    });
  });
}());
