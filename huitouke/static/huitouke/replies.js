// The canned-reply picker: Ctrl+K (⌘K) or "/" typed at the start of an empty reply opens it, Esc closes it;
// "Insert" puts the filled text at the cursor of the reply box; "Copy" copies it in one click.
(function () {
  "use strict";
  function picker() { return document.getElementById("reply-picker"); }
  function target() {
    const p = picker();
    return p ? document.getElementById(p.dataset.target) : null;
  }
  function open() {
    const p = picker();
    if (!p) return;
    if (!p.open) p.showModal();
    const search = document.getElementById("picker-search");
    if (search) { search.focus(); search.select(); }
  }
  function close() {
    const p = picker();
    if (p && p.open) p.close();
    const box = target();
    if (box) box.focus();
  }
  function copy(text, button) {
    const done = function () { if (button) button.classList.add("copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    const helper = document.createElement("textarea");
    helper.value = text;
    document.body.appendChild(helper);
    helper.select();
    document.execCommand("copy");
    helper.remove();
    done();
  }
  function insert(text) {
    const box = target();
    if (!box) return;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + text.length;
    box.dispatchEvent(new Event("input", { bubbles: true }));  // refreshes the wording hints
    close();
  }
  document.addEventListener("keydown", function (event) {
    if (!picker()) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      open();
      return;
    }
    const box = target();
    if (event.key === "/" && event.target === box && box.value.trim() === "") {
      event.preventDefault();
      open();
    }
  });
  document.addEventListener("click", function (event) {
    const el = event.target.closest("[data-open-picker], [data-close-picker], [data-insert], [data-copy-filled], [data-copy-textarea]");
    if (!el) return;
    if (el.matches("[data-open-picker]")) open();
    else if (el.matches("[data-close-picker]")) close();
    else if (el.matches("[data-insert]")) insert(el.closest("[data-text]").dataset.text);
    else if (el.matches("[data-copy-filled]")) copy(el.closest("[data-text]").dataset.text, el);
    else if (el.matches("[data-copy-textarea]")) copy(document.getElementById(el.dataset.copyTextarea).value, el);
  });
})();
