/*
 * Accessibility fixes for markup made by third-party code (pydata-sphinx-theme
 * and the ipywidgets slider) that cannot be changed from _config.yml. Each was
 * reported as "serious" by the axe-core scan in tests/test_browser.py.
 * Jupyter Book loads every .js file in _static/ on every page.
 */
(function () {
  "use strict";

  function fix(root) {
    // Search buttons: aria-label "Search" hides their visible text
    // "Search Ctrl+K" (axe label-content-name-mismatch, WCAG 2.5.3 Label in
    // Name). Without the aria-label the name comes from the visible text.
    root.querySelectorAll(".search-button-field[aria-label]").forEach(function (button) {
      button.removeAttribute("aria-label");
    });
    // Colour-mode button: its icons carry titles (Light, Dark, System Settings)
    // that do not match the button's name "Color mode" (same axe rule). The
    // icons are decorative inside a named button, so hide them from assistive
    // technology. Font Awesome swaps each <i> for an <svg>, hence both.
    root.querySelectorAll(".theme-switch-button .theme-switch").forEach(function (icon) {
      if (icon.getAttribute("aria-hidden") !== "true") {
        icon.setAttribute("aria-hidden", "true");
      }
      if (icon.hasAttribute("title")) {
        icon.removeAttribute("title");
      }
    });
    // ipywidgets sliders: the draggable handle has role="slider" but no name
    // (axe aria-input-field-name). Name it after the widget's own label.
    root.querySelectorAll(".noUi-handle[role='slider']:not([aria-label])").forEach(function (handle) {
      var widget = handle.closest(".widget-slider");
      var label = widget && widget.querySelector(".widget-label");
      var text = label ? label.textContent.trim() : "";
      handle.setAttribute("aria-label", text || "slider");
    });
  }

  function start() {
    fix(document);
    // Widgets and Font Awesome icons are inserted after the page loads. Fix
    // them in the observer's callback itself: it runs as a microtask, before
    // the browser paints or runs any other script (deferring it to the next
    // animation frame let an axe scan see the unfixed icons now and then).
    new MutationObserver(function () {
      fix(document);
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
