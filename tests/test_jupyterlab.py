"""The generator panel in a real JupyterLab: it redraws in the browser, live.

Starts JupyterLab on 127.0.0.1 (no token, a temporary folder), opens a notebook
that builds the panel as the chapter does, runs it in Chromium, then

* moves the seed slider with the keyboard: the picture changes at once and
  the kernel hears the new seed (the knob traits follow the browser);
* pushes other weights from Python (``panel.show(...)``): the picture changes;
* saves screenshots to ``SYNTHBOOK_SHOTS`` (default: the test's tmp folder).

Slow (a JupyterLab server and a kernel): marked ``browser`` and ``slow``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}"),
]

# The chapter's cell is `generator_panel(result)` on the trained GAN; here an
# untrained generator of the book's shape (no training in a test), set by
# SYNTHBOOK_LAB_CELLS to run other cells (e.g. the chapter's, for a manual check).
CELLS = json.loads(os.environ.get("SYNTHBOOK_LAB_CELLS", "null")) or [
    "import torch\nfrom synthbook import gan\nfrom synthbook.widgets import generator_panel",
    "torch.manual_seed(0)\nmodel = gan.build_models(gan.GANConfig())[0].eval()\n"
    "panel = generator_panel(model)\npanel",
]
PRECOMPUTED_CELL = (
    "import numpy as np\nfrom synthbook.widgets import precomputed_panel\n"
    "frames = {(i,): {'image': np.eye(8) * (i + 1) / 3, 'alt': f'picture {i}'}"
    " for i in range(3)}\n"
    "precomputed_panel([('i', 'which', [(str(i), i) for i in range(3)])], frames,"
    " title='Three pictures', width=96)"
)
PICTURE_JS = "() => document.querySelector('[data-sb-panel] canvas').toDataURL()"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(cells: list[str]) -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def lab(tmp_path: Path):
    pytest.importorskip("jupyterlab")
    (tmp_path / "panel.ipynb").write_text(json.dumps(_notebook(CELLS)))
    port = _free_port()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    )
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--allow-root",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={tmp_path}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "api", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(
                "JupyterLab did not start: " + (tmp_path / "lab.log").read_text()
            )
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _run_cell(tab, source: str) -> None:
    """Append a code cell with ``source`` at the end and run it."""
    tab.keyboard.press("Escape")
    tab.locator(".jp-Notebook .jp-Cell").last.click()
    tab.keyboard.press("Escape")
    tab.keyboard.press("b")
    editor = tab.locator(".jp-Notebook .jp-Cell").last.locator(".cm-content")
    editor.click()
    tab.keyboard.insert_text(source)
    tab.keyboard.press("Shift+Enter")


def test_panel_redraws_live_in_jupyterlab(lab: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SYNTHBOOK_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu"],
            headless=True,
        )
        tab = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(lab + "lab/tree/panel.ipynb")
        tab.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # Run the cells once the kernel is up (keys pressed earlier only move on).
        tab.wait_for_function(
            "() => /Idle/.test(document.querySelector('.jp-StatusBar-Widget, "
            "#jp-main-statusbar')?.textContent || '')",
            timeout=90_000,
        )
        tab.locator(".jp-Notebook .jp-Cell").first.click()
        for _ in CELLS:
            tab.keyboard.press("Shift+Enter")
        try:
            tab.wait_for_selector("[data-sb-panel] canvas", timeout=120_000)
        except Exception:
            tab.screenshot(path=str(shots / "lab-failed.png"))
            raise
        panel = tab.locator("[data-sb-panel]")
        panel.scroll_into_view_if_needed()
        tab.wait_for_timeout(500)
        tab.screenshot(path=str(shots / "lab-1-panel.png"))
        before = tab.evaluate(PICTURE_JS)

        seed = panel.locator("input[name=seed]")
        seed.focus()
        started = time.perf_counter()
        tab.keyboard.press("ArrowRight")
        try:
            tab.wait_for_function(
                f"() => ({PICTURE_JS})() !== {json.dumps(before)}", timeout=5_000
            )
        except Exception:
            state = tab.evaluate(
                "() => [document.activeElement.outerHTML.slice(0, 200), "
                "document.querySelector('[data-sb-panel] input[name=seed]').value]"
            )
            raise AssertionError(
                f"picture unchanged; focus and seed: {state}"
            ) from None
        redraw_ms = (time.perf_counter() - started) * 1000
        tab.screenshot(path=str(shots / "lab-2-seed-moved.png"))
        after_seed = tab.evaluate(PICTURE_JS)
        alt = panel.locator(".sbgen-alt").inner_text()
        assert "seed 1" in alt, alt

        # The kernel heard the move; then Python pushes new weights.
        _run_cell(
            tab,
            "assert panel.seed == 1, panel.seed\n"
            "torch.manual_seed(1)\npanel.show(gan.build_models(gan.GANConfig())[0].eval())",
        )
        tab.wait_for_function(
            f"() => ({PICTURE_JS})() !== {json.dumps(after_seed)}", timeout=60_000
        )
        tab.wait_for_timeout(500)
        tab.screenshot(path=str(shots / "lab-3-new-weights.png"))

        # A precomputed panel (plain HTML and script) is live in JupyterLab too.
        _run_cell(tab, PRECOMPUTED_CELL)
        menu = tab.locator("[data-sb-panel=precomputed] select").first
        menu.wait_for(timeout=60_000)
        picture = "() => document.querySelector('[data-sb-panel=precomputed] img').alt"
        assert tab.evaluate(picture) == "picture 0"
        menu.focus()
        tab.keyboard.press("ArrowDown")
        tab.wait_for_function(f"() => ({picture})() === 'picture 1'", timeout=5_000)
        tab.screenshot(path=str(shots / "lab-4-precomputed.png"))
        assert not tab.locator(
            ".jp-OutputArea-output[data-mime-type*=error]"
        ).count(), tab.locator(
            ".jp-OutputArea-output[data-mime-type*=error]"
        ).first.inner_text()
        browser.close()
    assert not errors, errors
    print(
        f"\nJupyterLab: seed moved, picture redrawn after {redraw_ms:.0f} ms "
        "(keyboard event to detected change, through Playwright)"
    )
