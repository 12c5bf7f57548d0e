"""Moving every control of a built page, for tests/test_browser.py.

Controls are found on the page (menus, inputs, buttons and ARIA sliders in cell
outputs), so panels any chapter adds are covered. Each is moved with the
keyboard; a watch in the page times the keydown to the first moment the
pictures (canvas pixels, ``<img>`` sources) of its panel differ.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

LIVE_MS = 100
# Each control is moved this often (forth, and back at an end); the median
# time counts, so one stall of a busy machine does not decide.
MOVES_PER_CONTROL = 3
# Controls in cell outputs: native ones and ipywidgets' (sliders are role=slider).
CONTROLS_JS = """() => {
    const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    const found = Array.from(document.querySelectorAll(
        '.cell_output select, .cell_output input, .cell_output button, '
        + '.cell_output textarea, .cell_output [role=slider]'))
        // Not the theme's copy buttons on text outputs: page furniture, not panels.
        .filter(el => visible(el) && el.type !== 'hidden' && !el.closest('.copybtn'));
    found.forEach((el, i) => el.setAttribute('data-sb-test', String(i)));
    return found.map(el => ({
        index: el.getAttribute('data-sb-test'),
        tag: el.tagName.toLowerCase(), type: el.type || el.getAttribute('role') || '',
        name: el.name || el.id || (el.labels && el.labels[0] ? el.labels[0].textContent : '')
            || el.getAttribute('aria-label') || el.textContent.trim().slice(0, 30),
    }));
}"""
SETTLE_JS = """async () => {
    await document.fonts.ready;
    for (let i = 0; i < 3; i++) {
        await new Promise(r => requestIdleCallback(r, {timeout: 2000}));
    }
    // Warm up what the watch below calls on every frame.
    document.querySelectorAll('canvas').forEach(c => c.toDataURL());
}"""
# Arms a watch on the panel of control `i`: resolves to the milliseconds from
# the next keydown to the first frame whose picture differs, or null.
WATCH_JS = """i => {
    const el = document.querySelector(`[data-sb-test="${i}"]`);
    const panel = el.closest('[data-sb-panel]') || el.closest('.cell_output');
    // What the reader perceives: the pictures, their alt texts, and the live
    // sentence a panel shows under its picture (a menu that changes only the
    // numbers in that sentence is live; one that changes nothing is not).
    const sig = () => Array.from(panel.querySelectorAll('canvas, img, [aria-live]'))
        .map(p => p.tagName === 'CANVAS' ? p.toDataURL() + (p.getAttribute('aria-label') || '')
            : p.tagName === 'IMG' ? p.src + p.alt : p.textContent).join('|');
    const before = sig();
    let t0 = null;
    window.addEventListener('keydown', () => { t0 = performance.now(); },
                            {once: true, capture: true});
    // Canvas pixels and <img> sources read back at once: poll on timers, not frames.
    window.__sbMoved = new Promise(resolve => {
        const tick = () => {
            if (t0 !== null && sig() !== before) return resolve(performance.now() - t0);
            if (t0 !== null && performance.now() - t0 > 2000) return resolve(null);
            setTimeout(tick, 2);
        };
        setTimeout(tick, 2);
    });
    return {disabled: !!(el.disabled || el.getAttribute('aria-disabled') === 'true'),
            atEnd: el.tagName === 'SELECT' ? el.selectedIndex === el.options.length - 1
                : el.type === 'range' ? Number(el.value) >= Number(el.max)
                : el.getAttribute('aria-valuenow') !== null
                    && el.getAttribute('aria-valuenow') === el.getAttribute('aria-valuemax'),
            pictures: panel.querySelectorAll('canvas, img').length};
}"""


def _key_for(control: dict, at_end: bool) -> str:
    if control["tag"] == "button" or control["type"] in ("checkbox", "radio"):
        return "Space"
    if control["tag"] == "select":
        return "ArrowUp" if at_end else "ArrowDown"
    return "ArrowLeft" if at_end else "ArrowRight"


@dataclass
class ControlReport:
    page: str
    scheme: str
    total: int = 0
    live: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    axe: list[dict] = field(default_factory=list)


def exercise_controls(
    browser,
    base: str,
    page: str,
    scheme: str,
    *,
    views: int,
    axe: Path,
    axe_js: str,
    timeout_ms: int,
) -> ControlReport:
    """Open ``base + page``, move every control; run axe at ``axe`` if it exists."""
    report = ControlReport(page, scheme)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    origin = base if scheme == "http" else "file://"

    def on_request(request) -> None:
        url = request.url
        if not url.startswith((origin, "data:", "blob:")):
            report.offsite.append(url)

    if scheme == "http":

        def route(route_request):
            if route_request.request.url.startswith(base):
                route_request.continue_()
            else:
                report.offsite.append(route_request.request.url)
                route_request.abort()

        context.route("**/*", route)
    # Until axe runs: from file:// its stylesheet preloading (XHR) is refused.
    listening = [True]
    tab.on("request", on_request)
    tab.on(
        "console",
        lambda m: (
            listening[0] and m.type == "error" and report.console_errors.append(m.text)
        ),
    )
    tab.on("pageerror", lambda e: report.console_errors.append(f"uncaught: {e}"))
    try:
        tab.goto(base + page, wait_until="load")
        if views:
            tab.wait_for_function(
                "n => Array.from(document.querySelectorAll('.widget-subarea'))"
                ".filter(a => a.children.length > 0).length >= n",
                arg=views,
                timeout=timeout_ms,
            )
        # Let the page settle (fonts, MathJax, widget rendering) before timing.
        tab.wait_for_load_state("networkidle")
        tab.evaluate(SETTLE_JS)
        controls = tab.evaluate(CONTROLS_JS)
        report.total = len(controls)
        for control in controls:
            label = f"{control['tag']}[{control['type']}] {control['name']!s}".strip()
            times = []
            for _ in range(MOVES_PER_CONTROL):
                state = tab.evaluate(WATCH_JS, control["index"])
                if state["disabled"]:
                    break
                tab.focus(f'[data-sb-test="{control["index"]}"]')
                tab.keyboard.press(_key_for(control, state["atEnd"]))
                times.append(tab.evaluate("() => window.__sbMoved"))
            if not times:
                report.dead.append(f"{label}: disabled")
            elif None in times:
                why = (
                    "picture, alt text and sentence unchanged"
                    if state["pictures"]
                    else "no picture in its panel"
                )
                report.dead.append(f"{label}: {why}")
            elif statistics.median(times) > LIVE_MS:
                report.dead.append(f"{label}: {[round(t) for t in times]} ms")
            else:
                report.live.append(f"{label} ({statistics.median(times):.0f} ms)")
        listening[0] = False
        if axe.exists():
            tab.add_script_tag(path=str(axe))
            report.axe = tab.evaluate(axe_js)
    finally:
        context.close()
    return report
