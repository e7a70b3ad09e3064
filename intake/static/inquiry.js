// Progressive enhancement for the inquiry. Without it the form still works: every question is
// shown with a note saying when it applies, and the server ignores answers to hidden ones.
(function () {
  "use strict";
  var form = document.querySelector("form[method=post]");
  if (!form) return;

  var zone = form.querySelector("[data-detect-time-zone]");
  if (zone && !zone.value && window.Intl && Intl.DateTimeFormat) {
    try { zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep the fallback */ }
  }

  function valuesOf(name) {
    var fields = form.elements[name];
    if (!fields && form.elements[name + "-year"]) { // a date's day, month and year boxes
      var parts = ["year", "month", "day"].map(function (part) {
        return form.elements[name + "-" + part].value.trim();
      });
      return parts.every(Boolean) ? [parts.join("-")] : [];
    }
    if (!fields) return [];
    if (fields.length === undefined || fields.tagName === "SELECT") fields = [fields];
    var values = [];
    Array.prototype.forEach.call(fields, function (field) {
      if ((field.type === "radio" || field.type === "checkbox") && !field.checked) return;
      if (field.value !== "") values.push(field.value);
    });
    return values;
  }

  function holds(condition) {
    var values = valuesOf(condition.question);
    switch (condition.operator) {
      case "exists": return (values.length > 0) === Boolean(condition.answer);
      case "=": case "contains": return values.indexOf(String(condition.answer)) !== -1;
      case "!=": return values.length > 0 && values.indexOf(String(condition.answer)) === -1;
      case "in": return values.some(function (v) { return condition.answer.map(String).indexOf(v) !== -1; });
      default: return true; // unknown here: show the question and let the server decide
    }
  }

  var dependents = form.querySelectorAll("[data-enable-when]");
  function update() {
    Array.prototype.forEach.call(dependents, function (block) {
      var rule = JSON.parse(block.getAttribute("data-enable-when"));
      var results = rule.conditions.map(holds);
      var shown = rule.behavior === "any" ? results.some(Boolean) : results.every(Boolean);
      block.hidden = !shown;
      var note = block.querySelector(".condition-note");
      if (note) note.hidden = true;
    });
  }
  form.addEventListener("change", update);
  update();

  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) {
    summary.focus();
    // Following an error link: focus the answer, but show its question and message with it.
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var input = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!input) return;
      event.preventDefault();
      // The block that shows the error: a question, or a group of questions sharing one error.
      var question = input.closest(".question-error") || input.closest(".question") || input;
      question.scrollIntoView({ block: "start" });
      input.focus({ preventScroll: true });
    });
  }
})();
