/* An import's page while a worker runs: the progress follows the worker without reloading
   the page (a timed reload would move a screen reader back to the top every few seconds).
   Every few seconds it reads the same page again and puts the new count in place; when the
   job's status changes (the dry run or the import finished, or stopped) the page is loaded
   once to show the report. Without script the page's "Check the progress now" link does the
   same, so nothing depends on this file. */
(function () {
  'use strict';
  var section = document.getElementById('import-progress');
  var status = document.getElementById('import-status');
  if (!section || !status || !window.fetch || !window.DOMParser) { return; }
  var every = (Number(section.getAttribute('data-refresh-seconds')) || 5) * 1000;

  function later() { window.setTimeout(check, every); }

  function check() {
    fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (response) {
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) { later(); return; }
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        var freshStatus = fresh.getElementById('import-status');
        var freshSection = fresh.getElementById('import-progress');
        if (!freshStatus || !freshSection || freshStatus.textContent !== status.textContent) {
          window.location.reload();
          return;
        }
        var bar = section.querySelector('progress');
        var freshBar = freshSection.querySelector('progress');
        var count = section.querySelector('.progress-count');
        var freshCount = freshSection.querySelector('.progress-count');
        if (bar && freshBar) { bar.value = freshBar.value; bar.textContent = freshBar.textContent; }
        if (count && freshCount && count.textContent !== freshCount.textContent) {
          count.textContent = freshCount.textContent;
        }
        later();
      })
      .catch(later);
  }

  later();
}());
