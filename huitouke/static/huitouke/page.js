// Small page behaviours, declared in templates with data attributes instead of inline script (the
// Content-Security-Policy allows scripts from this site's files only):
//
//   <select data-autosubmit>                      sends its form when the choice changes
//   <form data-confirm="Delete it?">              asks before sending; nothing is sent when the person says no
//   <input type="checkbox" data-check-all="CSS">  ticks or clears every box the selector finds
//   <input data-select-on-click>                  selects its whole text on a click (links to copy)
//   <button data-copy="ID" data-copied="Copied">  copies the text of the element with that id
//   <button data-copy-text="TEXT">                copies the given text
//   <button data-formset-add="PREFIX" data-template="ID" data-rows="CSS">  adds a formset row from a <template>
//
// and the thin busy bar at the top of the page while an htmx request is under way.
(function () {
  "use strict";

  function done(button) {
    if (button.dataset.copied) { button.textContent = button.dataset.copied; }
  }

  function copy(text, source, button) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(button); });
      return;
    }
    // older browsers and plain-http pages: select the text and use the legacy copy command
    if (source && typeof source.select === "function") {
      source.select();
    } else if (source) {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected for the person to copy */ }
    done(button);
  }

  function addFormsetRow(button) {
    var prefix = button.dataset.formsetAdd;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(button.dataset.template);
    var body = document.querySelector(button.dataset.rows);
    if (!total || !template || !body) { return; }
    body.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, total.value));
    total.value = Number(total.value) + 1;
    var rows = body.querySelectorAll("tr");
    var first = rows.length ? rows[rows.length - 1].querySelector("input") : null;
    if (first) { first.focus(); }
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      if (typeof el.form.requestSubmit === "function") { el.form.requestSubmit(); } else { el.form.submit(); }
    }
  });

  // capture phase: the question comes before htmx or anything else on the form hears the submit
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    var el = event.target.closest
      ? event.target.closest("[data-check-all], [data-select-on-click], [data-copy], [data-copy-text], [data-formset-add]")
      : null;
    if (!el) { return; }
    if (el.matches("[data-check-all]")) {
      document.querySelectorAll(el.dataset.checkAll).forEach(function (box) { box.checked = el.checked; });
    } else if (el.matches("[data-select-on-click]")) {
      el.select();
    } else if (el.matches("[data-copy]")) {
      var source = document.getElementById(el.dataset.copy);
      var field = source && (source.tagName === "TEXTAREA" || source.tagName === "INPUT");
      if (source) { copy(field ? source.value : source.innerText, source, el); }
    } else if (el.matches("[data-copy-text]")) {
      copy(el.dataset.copyText, null, el);
    } else if (el.matches("[data-formset-add]")) {
      addFormsetRow(el);
    }
  });

  document.addEventListener("htmx:beforeRequest", function () { document.body.classList.add("is-busy"); });
  document.addEventListener("htmx:afterRequest", function () { document.body.classList.remove("is-busy"); });
})();
