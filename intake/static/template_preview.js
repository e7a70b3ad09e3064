/* The message template page: the preview follows what the admin types. Without script the
   Preview button sends the form and the page comes back with the same preview, so nothing
   depends on this file. It posts the form (with its CSRF token) to the preview route a moment
   after typing stops and puts the answer in place of the preview; nothing is saved. */
(function () {
  'use strict';
  var form = document.getElementById('template-form');
  var target = document.getElementById('template-preview');
  if (!form || !target || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute('data-preview-url');
  var timer = null;
  var asked = 0;

  function refresh() {
    var number = ++asked;
    fetch(url, {
      method: 'POST',
      body: new FormData(form),
      credentials: 'same-origin',
      headers: { 'Accept': 'text/html' }
    }).then(function (response) {
      if (!response.ok || response.redirected) { return null; }
      return response.text();
    }).then(function (html) {
      if (html !== null && number === asked) { target.innerHTML = html; }
    }).catch(function () { /* the Preview button still works */ });
  }

  form.addEventListener('input', function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 600);
  });
}());
