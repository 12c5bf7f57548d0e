"""The generator in the reader's browser: redraw time, bytes per page, parity.

``python -m synthbook bench browser`` prints

* the median time to redraw the panel (eight digits: noise, forward pass,
  canvas) over 100 moves of its knobs, in headless Chromium, for the book's
  generator (the goal is 16 ms, one frame, on two CPU cores);
* the size of the export (int8 weights, 4-bit film frames, noise bank) and, for every chapter page
  of a built book (``_build/html`` or ``SYNTHBOOK_SITE``), the bytes of
  JavaScript and of inline data (widget state, precomputed panels) it loads;
* how far the browser's pictures are from torch's on the same knobs.

Chromium: ``/usr/bin/chromium`` (or ``CHROMIUM``), driven by Playwright.
"""

from __future__ import annotations

import base64
import functools
import html.parser
import http.server
import json
import os
import statistics
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from synthbook import gan
from synthbook.data import book_splits, load_mnist
from synthbook.repro import setup
from synthbook.widgets import export, render_images
from synthbook.widgets.generator import MODULE, snapshots_of

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
MOVES = 100
GOAL_MS = 16.0
KNOB_CASES = [
    {"digit": 8},
    {"digit": 4, "blend_toward": 9, "blend": 0.5, "seed": 7},
    {"digit": 2, "noise_scale": 2.5, "seed": 42},
    {"digit": 6, "truncation": 0.5, "seed": 99},
    {"digit": 1, "shifts": [2.0, -2.0, 1.0], "truncation": 1.5},
]
_PAGE = """<!doctype html><html lang="en"><head><title>bench</title></head><body>
<div id="panel"></div><script type="module">
import * as gen from "./generator.mjs";
const meta = JSON.parse(document.getElementById("meta").textContent);
const bytes = Uint8Array.from(atob(document.getElementById("blob").textContent),
                              c => c.charCodeAt(0));
window.gen = gen;
window.bundle = gen.decode(meta, bytes);
window.panel = gen.mount(document.getElementById("panel"), {meta, bytes, knobs: {
  digit: 8, blend_toward: null, blend: 0.5, seed: 0, noise_scale: 1, truncation: 0,
  shifts: [0, 0, 0]}});
window.ready = true;
</script>
<script type="application/json" id="meta">META</script>
<script type="text/plain" id="blob">BLOB</script></body></html>"""
# 100 moves over every knob; each returns the milliseconds of one redraw.
_MOVES_JS = """n => {
    const knobs = ["digit", "seed", "noise_scale", "truncation", "z0", "blend_toward",
                   "blend", "z1", "z2", "snapshot"];
    const times = [];
    for (let i = 0; i < n; i++) {
        const name = knobs[i % knobs.length];
        let v = name === "digit" || name === "blend_toward" ? i % 10
            : name === "seed" ? i % 100 : name === "snapshot"
            ? i % window.bundle.models.length : (i % 7) * 0.4;
        const t0 = performance.now();
        if (name.startsWith("z")) {
            const s = window.panel.knobs.shifts.slice(); s[Number(name[1])] = v - 1;
            window.panel.setKnob("shifts", s);
        } else window.panel.setKnob(name, v);
        times.push(performance.now() - t0);
    }
    return times;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _Scripts(html.parser.HTMLParser):
    """Sizes of a page's inline scripts (by type) and its external script files."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline: dict[str, int] = {}
        self.external: list[str] = []
        self._type: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            attributes = dict(attrs)
            if attributes.get("src"):
                self.external.append(attributes["src"] or "")
                self._type = None
            else:
                self._type = attributes.get("type") or "text/javascript"

    def handle_data(self, data: str) -> None:
        if self._type is not None:
            self.inline[self._type] = self.inline.get(self._type, 0) + len(
                data.encode()
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._type = None


def page_bytes(site: Path) -> list[dict[str, Any]]:
    """Bytes each chapter page of a built book loads: HTML, JS files, inline data."""
    rows = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site)
        if rel.parts[0].startswith("_") or not any(
            (site / "_sources").glob(f"{rel.with_suffix('').as_posix()}.*")
        ):
            continue
        text = page.read_text(encoding="utf-8")
        scan = _Scripts()
        scan.feed(text)
        js_files = 0
        for src in scan.external:
            path = (page.parent / src.split("?")[0]).resolve()
            if path.is_file():
                js_files += path.stat().st_size
        rows.append(
            {
                "page": rel.as_posix(),
                "html": len(text.encode()),
                "js_files": js_files,
                "widget_state": scan.inline.get(
                    "application/vnd.jupyter.widget-state+json", 0
                ),
                "inline_js": scan.inline.get("text/javascript", 0),
            }
        )
    return rows


def _book_generator(seed: int = 0) -> Any:
    setup(seed)
    splits = book_splits(load_mnist(), seed=seed)
    return gan.load_or_train(
        splits.train, steps=gan.BOOK_STEPS, seed=seed, progress=False
    )


def bench_browser(seed: int = 0, site: str | None = None) -> dict[str, Any]:
    """Print redraw times, bytes per page and parity; return them as a dict."""
    # Playwright is a test extra; `bench gan` and the others must not need it.
    from playwright.sync_api import sync_playwright

    result = _book_generator(seed)
    models = snapshots_of(result)
    meta, blob = export.export_models(models)
    n_params = sum(m["rows"] * (m["cols"] + 1) for m in meta["models"][-1]["layers"])
    print(
        f"export: {len(models)} generator(s) of {n_params:,} weights (int8 rows, the "
        "small first layer float16; earlier film frames' last layer 4-bit), "
        f"{len(blob):,} bytes; {len(base64.b64encode(blob)):,} as base64 in a page"
    )
    out: dict[str, Any] = {"export_bytes": len(blob)}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "generator.mjs").write_text(MODULE.read_text(encoding="utf-8"))
        page = _PAGE.replace("META", json.dumps(meta)).replace(
            "BLOB", base64.b64encode(blob).decode()
        )
        (root / "index.html").write_text(page)
        handler = functools.partial(_Quiet, directory=folder)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--no-sandbox", "--disable-gpu"],
                    headless=True,
                )
                tab = browser.new_page()
                tab.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
                tab.wait_for_function("() => window.ready === true")
                tab.evaluate(_MOVES_JS, 20)  # warm up the JIT
                times = tab.evaluate(_MOVES_JS, MOVES)
                worst_max = worst_mean = 0.0
                for case in KNOB_CASES:
                    knobs = {
                        "blend_toward": None,
                        "blend": 0.0,
                        "seed": 0,
                        "noise_scale": 1.0,
                        "truncation": 0.0,
                        "shifts": [0.0, 0.0, 0.0],
                        **case,
                    }
                    got = np.asarray(
                        tab.evaluate("k => Array.from(gen.generate(bundle, k))", knobs),
                        dtype=np.float32,
                    ).reshape(-1, 784)
                    want = render_images(result.generator, **knobs).reshape(-1, 784)
                    diff = np.abs(got - want.numpy())
                    worst_max = max(worst_max, float(diff.max()))
                    worst_mean = max(worst_mean, float(diff.mean()))
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    median = statistics.median(times)
    print(
        f"redraw (8 digits, {MOVES} moves, headless Chromium): median {median:.1f} ms, "
        f"90th percentile {np.percentile(times, 90):.1f} ms (goal {GOAL_MS:g} ms)"
    )
    print(
        f"browser vs torch on the book's generator: largest pixel difference "
        f"{worst_max:.4f}, mean {worst_mean:.5f} (pixels in [0, 1])"
    )
    out.update(median_ms=median, parity_max=worst_max, parity_mean=worst_mean)
    anywidget_js = Path("node_modules/anywidget/dist/index.js")
    print(
        f"panel JavaScript: generator.mjs {MODULE.stat().st_size:,} bytes (inside the "
        "widget state), anywidget's front end "
        + (f"{anywidget_js.stat().st_size:,}" if anywidget_js.exists() else "?")
        + " bytes (a file, loaded once per page)"
    )
    built = Path(site or os.environ.get("SYNTHBOOK_SITE", "_build/html"))
    if (built / "index.html").exists():
        rows = page_bytes(built)
        print(f"\nbytes per chapter page of {built} (HTML includes inline data):")
        for row in rows:
            print(
                f"  {row['page']:<44} HTML {row['html']:>10,}  JS files "
                f"{row['js_files']:>9,}  widget state {row['widget_state']:>10,}  "
                f"inline JS {row['inline_js']:>9,}"
            )
        out["pages"] = rows
    else:
        print(f"\n(no built book at {built}: bytes per page not measured)")
    return out
