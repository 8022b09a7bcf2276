// Station behaviour HTMX cannot do on its own: scanner focus, Enter in scanner fields, scans
// typed while no box has the cursor, ship-by countdowns and printing documents. Everything else
// is server-rendered HTMX.
(function () {
  // Text a packer types into: where a keystroke is theirs, not a stray scan.
  var TYPING = "input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button]), textarea, select, [contenteditable]";

  // Scanner focus: after any swap, focus lands on the element marked [data-scan-focus]
  // (the next place a scanner types into), so a packer never reaches for the mouse.
  function focusScanTarget(root) {
    var target = (root || document).querySelector("[data-scan-focus]");
    if (target && document.activeElement !== target && !isTyping()) {
      target.focus();
      // Selected as drawn (the next scan replaces it), never once a scanner has begun typing into it.
      if (target.select && target.value === target.defaultValue) target.select();
    }
  }
  // Never steal focus from a field the packer is filling in (polling swaps happen under them). A box a
  // scan or a scale types into whole, Enter included ([data-scanned-into]), is never half filled in: the
  // cursor leaves it for where the next scan goes (htmx puts it back in a box of the same id after a swap).
  function isTyping() {
    var el = document.activeElement;
    return el && el.matches && el.matches("input:not([data-scan-focus]):not([data-scanned-into]):not([type=checkbox]):not([type=radio]), textarea, select");
  }

  // Scanners end every code with Enter: in [data-enter-next] fields Enter moves to the next box to
  // type into (unit selects are skipped: they rarely change) or to the form's own button
  // ([data-enter-submit]), never to a side button (Remove package) and never straight to Amazon.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.matches || !field.matches("[data-enter-next]")) return;
    event.preventDefault();
    var form = field.form || document;
    var fields = Array.prototype.filter.call(
      form.querySelectorAll("[data-enter-next], [data-enter-submit]"),
      function (el) { return el.offsetParent !== null && !el.disabled && el.tagName !== "SELECT"; }
    );
    var next = fields[fields.indexOf(field) + 1];
    if (next) { next.focus(); if (next.select) next.select(); }
  });

  // A scan typed while no box has the cursor (a button has it, or nothing does) is not lost: the
  // page's scan box takes it, else Enter opens what it names (body[data-scan-url], e.g. the
  // station's "open" URL) instead of pressing the focused button.
  var scanned = "", lastKey = 0;
  document.addEventListener("keydown", function (event) {
    var url = document.body.getAttribute("data-scan-url");
    if (!url || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    var el = event.target;
    if (el && el.matches && el.matches(TYPING)) { scanned = ""; return; }
    var now = Date.now();
    if (now - lastKey > 3000) scanned = "";
    lastKey = now;
    if (event.key.length === 1 && !(event.key === " " && !scanned)) {
      var box = document.querySelector("[data-scan-box]");
      if (box && box.offsetParent !== null) {
        box.focus();
        box.value = "";  // the key lands in it: the scan starts afresh
        scanned = "";
        return;
      }
      scanned += event.key;
      event.preventDefault();
    } else if (event.key === "Enter" && scanned) {
      event.preventDefault();
      event.stopPropagation();
      var code = scanned;
      scanned = "";
      var param = document.body.getAttribute("data-scan-param") || "q";
      window.location.assign(url + (url.indexOf("?") < 0 ? "?" : "&") + param + "=" + encodeURIComponent(code));
    } else if (event.key === "Escape") {
      scanned = "";
    }
  }, true);

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

  // Printing a stored PDF: load it into a hidden same-origin frame and open the print dialog. A
  // label printed this way (printedUrl) is reported with a POST once its frame has loaded.
  var labelsLoading = 0;
  function printUrl(url, printedUrl) {
    var frame = document.createElement("iframe");
    frame.className = "print-frame";
    frame.setAttribute("data-print-frame", url);
    frame.src = url;
    if (printedUrl) labelsLoading += 1;
    frame.addEventListener("load", function () {
      try { window.packbenchPrintFrame(frame); }
      catch (e) { window.open(url, "_blank"); }  // some PDF viewers refuse scripted print
      if (printedUrl) {
        // Recorded by a POST (a GET never changes anything); once the last label is recorded, the
        // shipment page redraws (label-printed) and shows the next step, Mark shipped.
        // Each frame is the request's own source: htmx drops a second request from one element
        // while the first is in flight, which would lose the second label's print.
        var recorded = window.htmx ? window.htmx.ajax("POST", printedUrl, {source: frame, swap: "none"})
                                   : Promise.resolve();
        recorded.finally(function () {
          labelsLoading -= 1;
          if (labelsLoading === 0 && window.htmx) window.htmx.trigger(document.body, "label-printed");
        });
      }
    }, { once: true });
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
  // A fragment can ask for labels to print right after it lands (PNG/PDF labels): each URL once per
  // page, so a redraw that still lists one (its print not yet recorded) never prints it twice.
  var autoPrinted = {};
  function autoPrint(root) {
    (root || document).querySelectorAll("[data-autoprint-url]").forEach(function (el) {
      var url = el.getAttribute("data-autoprint-url");
      el.removeAttribute("data-autoprint-url");
      if (autoPrinted[url]) return;
      autoPrinted[url] = true;
      printUrl(url, el.getAttribute("data-printed-url"));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusScanTarget(document); tick(); autoPrint(document);
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // A freshly swapped scan field is selected even if HTMX kept its focus: the next scan replaces the text.
    // A swap elsewhere (a poll of a step, the claim, the queue) never moves the cursor, unless the swap
    // took the focused element away.
    // The swapped part's own target first (a form that came back with a field to fix, under the scan box).
    var target = (event.target.querySelector && event.target.querySelector("[data-scan-focus]"))
      || document.querySelector("[data-scan-focus]");
    var active = document.activeElement;
    var lost = !active || active === document.body || !document.contains(active);
    if (target && event.target.contains && event.target.contains(target) && (lost || !isTyping())) {
      target.focus();
      // Selected as drawn (the next scan replaces it), never once a scanner has begun typing into it.
      if (target.select && target.value === target.defaultValue) target.select();
    } else if (lost) {
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

// The live scale: each reading (polled by [data-scale-box], views/scanning.py) is copied into the
// open carton's weight box, marked stable or moving, until the packer types a weight there
// themselves (or a USB scale in keyboard mode does): from then on the box keeps what was typed.
(function () {
  document.addEventListener("input", function (event) {
    if (event.isTrusted && event.target.matches && event.target.matches("[data-fill=weight]")) {
      event.target.setAttribute("data-weight-typed", "");
      event.target.classList.remove("scale-moving", "scale-stable");
    }
  }, true);
  function follow(root) {
    root.querySelectorAll("[data-scale-for]").forEach(function (reading) {
      var field = document.getElementById(reading.getAttribute("data-scale-for"));
      if (!field || field.hasAttribute("data-weight-typed")) return;
      field.value = reading.getAttribute("data-scale-weight");
      var stable = reading.getAttribute("data-scale-stable") === "1";
      field.classList.toggle("scale-stable", stable);
      field.classList.toggle("scale-moving", !stable);
      field.setAttribute("data-scale-state", stable ? "stable" : "moving");
      var unit = document.getElementById(reading.getAttribute("data-scale-unit-for"));
      if (unit) unit.value = reading.getAttribute("data-scale-unit");
    });
  }
  document.addEventListener("htmx:afterSettle", function (event) { follow(event.target); });
})();

// A scan being typed into the scan-to-pack box when another request redraws the shipment (a step
// finished, the page refreshed) is carried into the new box, so no character of it is lost.
(function () {
  var carried = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var box = document.getElementById("pack-scan");
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (box && box.value && !(box.form && source && box.form.contains(source))) carried = box.value;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (carried === null) return;
    var box = document.getElementById("pack-scan");
    if (box && !box.value) {
      box.value = carried;
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);  // the scanner types on at the end
    }
    carried = null;
  });
})();
