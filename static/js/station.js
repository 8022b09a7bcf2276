// Station behaviour HTMX cannot do on its own: scanner focus, Enter in scanner fields,
// ship-by countdowns and printing documents. Everything else is server-rendered HTMX.
(function () {
  // Scanner focus: after any swap, focus lands on the element marked [data-scan-focus]
  // (the next place a scanner types into), so a packer never reaches for the mouse.
  function focusScanTarget(root) {
    var target = (root || document).querySelector("[data-scan-focus]");
    if (target && document.activeElement !== target && !isTyping()) {
      target.focus();
      if (target.select) target.select();
    }
  }
  // Never steal focus from a field the packer is filling in (polling swaps happen under them).
  function isTyping() {
    var el = document.activeElement;
    return el && el.matches && el.matches("input:not([data-scan-focus]), textarea, select");
  }

  // Scanners end every code with Enter: in [data-enter-next] fields Enter moves on instead of submitting.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.matches || !field.matches("[data-enter-next]")) return;
    event.preventDefault();
    var form = field.form || document;
    var fields = Array.prototype.filter.call(
      form.querySelectorAll("input:not([type=hidden]):not([disabled]), select, textarea, button[type=submit]"),
      function (el) { return el.offsetParent !== null; }
    );
    var next = fields[fields.indexOf(field) + 1];
    if (next) { next.focus(); if (next.select) next.select(); }
  });

  // Ship-by countdowns: [data-deadline] holds an ISO time; the server renders the first value.
  function formatLeft(ms) {
    var overdue = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    var text = d > 0 ? d + "d " + h + "h" : h > 0 ? h + "h " + m + "m" : m + "m " + (s % 60) + "s";
    return overdue ? "overdue " + text : text + " left";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-deadline")) - now;
      if (isNaN(left)) return;
      el.textContent = formatLeft(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600 * 1000);
      var row = el.closest("[data-overdue-row]");
      if (row) row.classList.toggle("is-overdue", left < 0);
    });
    // "Amazon checked N s ago": [data-age] is the age in seconds when the server drew it; count on
    // from when it landed (the station's clock may differ from the server's).
    document.querySelectorAll("[data-age]").forEach(function (el) {
      if (!el.packbenchBorn) el.packbenchBorn = now;
      var s = parseInt(el.getAttribute("data-age"), 10) + Math.floor((now - el.packbenchBorn) / 1000);
      if (isNaN(s)) return;
      el.textContent = s < 90 ? s + " s" : s < 5400 ? Math.round(s / 60) + " min" : Math.round(s / 3600) + " h";
    });
  }

  // The print dialog for a loaded frame. Replaceable (set before this script runs) because
  // headless Chromium cannot print a PDF frame.
  window.packbenchPrintFrame = window.packbenchPrintFrame || function (frame) {
    frame.contentWindow.focus();
    frame.contentWindow.print();
  };

  // Printing a stored PDF: load it into a hidden same-origin frame and open the print dialog. A label
  // printed this way is then reported with a POST (printedUrl), which redraws the shipment.
  function printUrl(url, printedUrl) {
    var frame = document.createElement("iframe");
    frame.className = "print-frame";
    frame.setAttribute("data-print-frame", url);
    frame.src = url;
    frame.addEventListener("load", function () {
      try { window.packbenchPrintFrame(frame); }
      catch (e) { window.open(url, "_blank"); }  // some PDF viewers refuse scripted print
      if (printedUrl && window.htmx && document.getElementById("shipment")) {
        htmx.ajax("POST", printedUrl, {source: document.body, target: "#shipment", swap: "innerHTML"});
      }
    });
    // Earlier frames stay until their dialog is done; only the same document is replaced.
    document.querySelectorAll("iframe.print-frame").forEach(function (old) {
      if (old.getAttribute("data-print-frame") === url) old.remove();
    });
    document.body.appendChild(frame);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print-url]");
    if (!button) return;
    event.preventDefault();
    printUrl(button.getAttribute("data-print-url"), button.getAttribute("data-printed-url"));
  });
  // A fragment can ask for a print right after it lands (e.g. a PNG/PDF label just generated).
  function autoPrint(root) {
    (root || document).querySelectorAll("[data-autoprint-url]").forEach(function (el) {
      var url = el.getAttribute("data-autoprint-url");
      el.removeAttribute("data-autoprint-url");
      printUrl(url, el.getAttribute("data-printed-url"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusScanTarget(document); tick(); autoPrint(document);
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // A freshly swapped scan field is selected even if HTMX kept its focus: the next scan replaces the text.
    var target = document.querySelector("[data-scan-focus]");
    if (target && event.target.contains && event.target.contains(target)) {
      target.focus();
      if (target.select) target.select();
    } else {
      focusScanTarget(document);
    }
    tick(); autoPrint(event.target);
  });
})();

// Box presets fill the package's size fields in place (nothing to ask the server), then the
// cursor goes to the weight: the one number the packer still has to read off the scale.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-fill-length]");
  if (!button) return;
  var scope = button.closest("[data-package-form], form");
  ["length", "width", "height", "unit"].forEach(function (name) {
    var field = scope.querySelector("[data-fill=" + name + "]");
    if (field) field.value = button.getAttribute("data-fill-" + name);
  });
  scope.querySelectorAll("button[data-fill-length]").forEach(function (b) { b.classList.remove("selected"); });
  button.classList.add("selected");
  var weight = scope.querySelector("[data-fill=weight]");
  if (weight) { weight.focus(); weight.select(); }
});
