// Portcullis console: the little the pages need beyond htmx (docs/console.md, "Script").
// No inline script or style anywhere: this file is loaded from /console/static/ under a
// Content-Security-Policy of script-src 'self'.
(function () {
  "use strict";

  // Times arrive as UTC text in <time datetime>; show them in the browser's local time and
  // keep the exact UTC instant in the title (shown on hover).
  function localize(root) {
    var times = (root || document).querySelectorAll("time[datetime]:not([data-local])");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        if (!el.title) { el.title = el.textContent; }
        el.textContent = d.toLocaleString();
        el.setAttribute("data-local", "1");
      }
    }
  }

  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) { return; }
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "alert";
    p.setAttribute("role", "alert");
    p.textContent = message;
    box.appendChild(p);
  }

  function copied(button, ok) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = ok ? "Copied" : "Select and copy";
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }

  // Copy buttons: <button data-copy="element-id">; the element's value or text is copied.
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.value !== undefined ? source.value : source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { copied(button, true); },
        function () { copied(button, false); }
      );
    } else {
      if (source.select) { source.select(); }
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      copied(button, ok);
    }
  });

  document.addEventListener("DOMContentLoaded", function () { localize(document); });

  document.addEventListener("htmx:load", function (ev) { localize(ev.target); });

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("flash");
    if (box) { box.textContent = ""; }
  });

  // Error answers are shown, never dropped: a 422 re-renders the form in place (its fields
  // carry the messages); any other error's fragment goes to the flash area.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var status = ev.detail.xhr.status;
    if (status === 422) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    } else if (status >= 400) {
      var box = document.getElementById("flash");
      ev.detail.shouldSwap = !!box;
      ev.detail.isError = false;
      ev.detail.target = box;
      ev.detail.swapOverride = "innerHTML";
      // A form that picks part of its answer (hx-select) must not pick from the error
      // fragment: take the fragment's message itself.
      ev.detail.selectOverride = ".console-error";
    }
  });

  document.addEventListener("htmx:sendError", function () {
    flash("The server could not be reached. Check the connection and try again.");
  });
  document.addEventListener("htmx:timeout", function () {
    flash("The server took too long to answer. Try again.");
  });
})();
