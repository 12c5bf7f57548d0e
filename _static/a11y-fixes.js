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
    // technology and drop their titles. Font Awesome swaps each <i> for an
    // <svg>, hence both. It reads the <i>'s title when it parses the page and
    // inserts the <svg> later (next animation frame), so when it parsed first
    // the <svg> arrives with a <title> child and aria-labelledby pointing at it.
    // axe takes the button's visible text from that <title> whatever
    // aria-hidden says ("Light" is not in "Color mode"): remove both too.
    root.querySelectorAll(".theme-switch-button .theme-switch").forEach(function (icon) {
      if (icon.getAttribute("aria-hidden") !== "true") {
        icon.setAttribute("aria-hidden", "true");
      }
      ["title", "aria-labelledby"].forEach(function (name) {
        if (icon.hasAttribute(name)) {
          icon.removeAttribute(name);
        }
      });
      icon.querySelectorAll("title").forEach(function (title) {
        title.remove();
      });
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
    // Attributes too: a script may (re)set a title or label on an element
    // already in the page. fix() changes only what needs it, so its own edits
    // end the loop.
    new MutationObserver(function () {
      fix(document);
    }).observe(document.body, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["title", "aria-label", "aria-labelledby", "aria-hidden"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
