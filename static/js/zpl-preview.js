// The label preview page: draws a stored ZPL label as images in the browser with the vendored
// zpl-renderer-js (WebAssembly), loaded here only, when a preview is asked for.
(function () {
  var box = document.querySelector("[data-zpl-preview]");
  if (!box) return;
  var source = document.getElementById("zpl-source").value;
  var status = box.querySelector("[data-preview-status]");
  var script = document.createElement("script");
  script.src = box.getAttribute("data-renderer");
  script.onload = function () {
    window.zpljs.ready
      .then(function (renderer) {
        // A 4×6 inch label at 8 dots per mm (203 dpi), as the station's Zebra prints it.
        return renderer.api.zplToBase64MultipleAsync(source, 101.6, 152.4, 8);
      })
      .then(function (images) {
        images.forEach(function (data, n) {
          var img = document.createElement("img");
          img.src = "data:image/png;base64," + data;
          img.alt = "Label page " + (n + 1);
          img.className = "zpl-image";
          img.setAttribute("data-zpl-image", "");
          box.appendChild(img);
        });
        status.textContent = images.length + " label" + (images.length === 1 ? "" : "s") + " drawn.";
        box.setAttribute("data-preview-state", "done");
      })
      .catch(function (error) {
        status.textContent = "This label could not be drawn (" + error + "). Download it and check it with the printer.";
        box.setAttribute("data-preview-state", "failed");
      });
  };
  script.onerror = function () {
    status.textContent = "The label renderer did not load. Reload the page.";
    box.setAttribute("data-preview-state", "failed");
  };
  document.head.appendChild(script);
})();
