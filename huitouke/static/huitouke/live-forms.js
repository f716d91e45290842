// Live forms keep what a person types while their requests are under way.
//
// A live form (segment builder, care rule, level simulation, searches) sends a request as the person types and
// swaps the answer into the page. The answer reflects the form as it was when the request left; whatever was
// typed after that must survive the swap. Every form field edited after a request was sent is put back into
// the swapped content with the value the person left in it, and the field that had the focus gets it back with
// its caret. (hx-sync on each live form also drops answers to requests that a newer one replaced.)
(function () {
  "use strict";
  var tick = 0;  // counts edits; a request remembers the count when it leaves
  var edits = {};  // field name -> {at: tick of the last edit, el: the field edited}

  function fieldValue(el) {
    if (el.type === "checkbox" || el.type === "radio") { return el.checked; }
    if (el.tagName === "SELECT" && el.multiple) {
      return Array.prototype.filter.call(el.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    }
    return el.value;
  }

  function setFieldValue(el, value) {
    if (el.type === "checkbox" || el.type === "radio") { el.checked = value; return; }
    if (el.tagName === "SELECT" && el.multiple) {
      Array.prototype.forEach.call(el.options, function (o) { o.selected = value.indexOf(o.value) >= 0; });
      return;
    }
    el.value = value;
  }

  // Number and date fields hide their caret from scripts: going through a text field puts it at the end.
  function caretRestore(el, start, end) {
    try {
      if (start !== null) { el.setSelectionRange(start, end); return; }
      if (el.type !== "number") { return; }
      var n = el.value.length;
      el.type = "text";
      el.setSelectionRange(n, n);
      el.type = "number";
    } catch (e) { /* this kind of field has no caret */ }
  }

  function remember(event) {
    var el = event.target;
    if (!el || !el.name || !("value" in el) || el.type === "hidden" || el.type === "radio") { return; }
    tick += 1;
    edits[el.name] = {at: tick, el: el, value: fieldValue(el)};
  }
  document.addEventListener("input", remember, true);
  document.addEventListener("change", remember, true);

  document.addEventListener("htmx:beforeRequest", function (event) {
    event.detail.xhr.liveFormsSentAt = tick;
  });

  var focus = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var el = document.activeElement;
    focus = null;
    if (el && el.name && "value" in el) {
      var start = null, end = null;
      try { start = el.selectionStart; end = el.selectionEnd; } catch (e) { /* no caret in this kind of field */ }
      focus = {el: el, start: start, end: end};
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var sentAt = event.detail.xhr ? event.detail.xhr.liveFormsSentAt : undefined;
    var had = focus;
    focus = null;
    if (sentAt === undefined) { return; }
    Object.keys(edits).forEach(function (name) {
      var edit = edits[name];
      if (edit.at <= sentAt) { return; }  // the request carried this value: the answer's is the one to show
      document.getElementsByName(name).forEach(function (el) {
        if (el === edit.el || el.type === "hidden") { return; }
        if (had && had.el === edit.el && !edit.el.isConnected && el.tagName === edit.el.tagName && el.type === edit.el.type) {
          // the field being typed in: put the very element back, caret and all
          el.replaceWith(edit.el);
        } else {
          setFieldValue(el, edit.value);
        }
      });
    });
    if (had && !had.el.isConnected) {
      var again = document.getElementsByName(had.el.name)[0];
      if (again) { had = {el: again, start: null, end: null}; } else { return; }
    }
    if (had && had.el !== document.activeElement) {
      had.el.focus();
      caretRestore(had.el, had.start, had.end);
    }
  });
})();
