// Live forms keep what a person types while their requests are under way.
//
// A live form (segment builder, care rule, level simulation, searches) sends a request as the person types and
// swaps the answer into the page. The answer reflects the form as it was when the request left; whatever was
// typed after that must survive the swap. Every form field edited after a request was sent is put back into
// the swapped content with the value the person left in it, and the field that had the focus gets it back with
// its caret. (hx-sync on each live form also drops answers to requests that a newer one replaced.)
//
// A live search form asks again only when what it would ask changed: leaving the search field fires a "change"
// after the typing already sent the same question, and that second answer would replace the results under a
// keyboard user who has tabbed on to them. And a link that had the focus keeps it when the list around it is
// swapped (htmx itself does this only for elements with an id).
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

  // the query a GET live form last sent (or the one its page was rendered for)
  var lastSent = new WeakMap();
  function query(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }
  function liveGetForms(root) {
    var forms = root.matches && root.matches("form[hx-get]") ? [root] : [];
    return forms.concat(Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("form[hx-get]") : []));
  }
  document.addEventListener("htmx:load", function (event) {
    liveGetForms(event.detail.elt).forEach(function (form) {
      if (!lastSent.has(form)) { lastSent.set(form, query(form)); }
    });
  });
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.detail.elt, trigger = event.detail.triggeringEvent;
    if (!form || form.tagName !== "FORM" || event.detail.verb !== "get" || !trigger) { return; }
    if (["change", "input", "keyup"].indexOf(trigger.type) < 0) { return; }
    if (lastSent.get(form) === query(form)) { event.preventDefault(); }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    event.detail.xhr.liveFormsSentAt = tick;
    var form = event.detail.elt;
    if (form && form.tagName === "FORM" && form.hasAttribute("hx-get")) { lastSent.set(form, query(form)); }
  });

  var focus = null, focusLink = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var el = document.activeElement;
    focus = null;
    focusLink = el && el.tagName === "A" && !el.id && el.getAttribute("href") ? el : null;
    if (el && el.name && "value" in el) {
      var start = null, end = null;
      try { start = el.selectionStart; end = el.selectionEnd; } catch (e) { /* no caret in this kind of field */ }
      focus = {el: el, start: start, end: end};
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var sentAt = event.detail.xhr ? event.detail.xhr.liveFormsSentAt : undefined;
    var had = focus, link = focusLink;
    focus = null;
    focusLink = null;
    if (link && !link.isConnected) {
      var same = document.querySelector('a[href="' + CSS.escape(link.getAttribute("href")) + '"]');
      if (same) { same.focus(); }
    }
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
