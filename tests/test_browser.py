"""Headless-Chromium checks of the built book (``_build/html``).

Every HTML page of the build is served on 127.0.0.1 and opened once; the
tests below then check what that visit recorded:

* no console errors, no failed requests, and no request leaving localhost
  (the book must work offline: widget JavaScript is served from
  ``_static/vendor/``, see ``make assets``; Thebe loads nothing until asked);
* widgets saved in a page render from their saved state (sliders visible,
  images in widget output visible and described by alt text);
* every ``<img>`` has alt text; every page is at most 1.5 MB;
* internal links and cross-references point at files and anchors that exist;
* axe-core finds no serious or critical accessibility violations;
* every control in a chapter's cell outputs (menus, sliders, buttons: found on
  the page, so panels other chapters add are covered too) changes the picture
  of its panel within 100 ms when moved with the keyboard, with no kernel, both
  over http and from ``file://``, with no request leaving the page's origin,
  no console error, and axe still clean afterwards.

``SYNTHBOOK_SITE`` points the tests at another build (e.g. one built with a
reduced table of contents).

No page is excluded: search.html and genindex.html pass the same checks.
A full-page screenshot of each chapter is saved to ``_build/screenshots/`` for
people to look at. ``make test`` builds the book and installs Chromium first;
without them this module is skipped.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from browser_controls import LIVE_MS, exercise_controls

REPO = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("SYNTHBOOK_SITE", REPO / "_build" / "html"))
SCREENSHOTS = SITE.parent / "screenshots"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]
# Folders of the build that hold assets, not pages.
ASSET_DIRS = {"_static", "_sources", "_images", "_downloads"}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RENDER_TIMEOUT_MS = 20_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (SITE / "index.html").exists(),
        reason="no built book at _build/html: run `make book` (make test does)",
    ),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (make test does)",
    ),
]


def _pages() -> list[str]:
    if not SITE.is_dir():
        return []
    return sorted(
        path.relative_to(SITE).as_posix()
        for path in SITE.rglob("*.html")
        if not ASSET_DIRS.intersection(path.relative_to(SITE).parts)
    )


PAGES = _pages()


def _is_chapter(page: str) -> bool:
    """A page built from a source file of the book (not index/search/genindex)."""
    stem = page[: -len(".html")]
    return any((SITE / "_sources").glob(f"{stem}.*"))


# --------------------------------------------------------------------------- #
# Static parsing of the built HTML (links, anchors, widget state)
# --------------------------------------------------------------------------- #


class _Scan(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.refresh: str | None = (
            None  # where a <meta http-equiv="refresh"> sends the reader
        )
        self._script_type: str | None = None
        self.scripts: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attributes.get(key):
                self.ids.add(attributes[key])
        if tag in ("a", "area", "link") and attributes.get("href") is not None:
            self.links.append(attributes["href"])
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            content = attributes.get("content") or ""
            if "url=" in content.lower():
                self.refresh = content[content.lower().index("url=") + 4 :].strip()
                self.links.append(self.refresh)
        if tag == "script":
            self._script_type = attributes.get("type")

    def handle_data(self, data: str) -> None:
        if self._script_type in (WIDGET_STATE, WIDGET_VIEW):
            self.scripts.setdefault(self._script_type, []).append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script_type = None


@functools.cache
def _scan(page: str) -> _Scan:
    scan = _Scan()
    scan.feed((SITE / page).read_text(encoding="utf-8"))
    return scan


def _expected_widgets(page: str) -> dict[str, int]:
    """What the saved widget state of a page says should render."""
    scan = _scan(page)
    models: dict = {}
    for blob in scan.scripts.get(WIDGET_STATE, []):
        models.update(json.loads(blob)["state"])
    names = [m.get("model_name", "") for m in models.values()]
    return {
        "views": len(scan.scripts.get(WIDGET_VIEW, [])),
        "sliders": sum(name.endswith("SliderModel") for name in names),
        "images": sum(
            "<img" in str(m.get("state", {}).get("value", ""))
            for m in models.values()
            if m.get("model_name") == "HTMLModel"
        ),
    }


WIDGET_PAGES = [page for page in PAGES if _expected_widgets(page)["views"]]


# --------------------------------------------------------------------------- #
# One visit per page, shared by the tests
# --------------------------------------------------------------------------- #


@dataclass
class Visit:
    url: str
    console_errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    widgets: dict = field(default_factory=dict)
    images: list[dict] = field(default_factory=list)
    axe: list[dict] = field(default_factory=list)
    render_error: str | None = None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server_url():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


IMAGES_JS = """() => Array.from(document.images).map(img => ({
    src: (img.getAttribute('src') || '').slice(0, 80),
    alt: img.getAttribute('alt'),
    inWidget: !!img.closest('.widget-subarea'),
    visible: !!(img.offsetWidth || img.offsetHeight || img.getClientRects().length),
    loaded: img.complete && img.naturalWidth > 0,
}))"""

WIDGETS_JS = """() => {
    const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    const areas = Array.from(document.querySelectorAll('.widget-subarea'));
    return {
        rendered: areas.filter(a => a.children.length > 0 && visible(a)).length,
        sliders: Array.from(document.querySelectorAll('.widget-subarea .widget-slider'))
            .filter(visible).length,
    };
}"""

AXE_JS = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
    }));
}"""


@pytest.fixture(scope="module")
def visits(browser, server_url):
    """Open each page once (lazily) and record everything the tests need."""
    cache: dict[str, Visit] = {}

    def visit(page: str) -> Visit:
        if page in cache:
            return cache[page]
        result = Visit(url=server_url + page)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(route_request):
            url = route_request.request.url
            if url.startswith(server_url):
                route_request.continue_()
            else:
                # Never let it reach the network; record it as a failure.
                result.offsite.append(url)
                route_request.abort()

        context.route("**/*", route)
        tab = context.new_page()
        tab.on(
            "console",
            lambda msg: (
                result.console_errors.append(f"{msg.text} ({msg.location.get('url')})")
                if msg.type == "error"
                else None
            ),
        )
        tab.on(
            "pageerror",
            lambda error: result.console_errors.append(f"uncaught: {error}"),
        )
        tab.on(
            "response",
            lambda response: (
                result.failed.append(f"{response.status} {response.url}")
                if response.status >= 400
                else None
            ),
        )
        tab.on(
            "requestfailed",
            lambda request: (
                result.failed.append(f"{request.failure} {request.url}")
                if request.url.startswith(server_url)
                else None
            ),
        )
        try:
            tab.goto(result.url, wait_until="networkidle")
            redirect = _scan(page).refresh
            if redirect:
                # Check the page the reader lands on, not one torn down mid-scan.
                tab.wait_for_url(urljoin(result.url, redirect))
                tab.wait_for_load_state("networkidle")
            expected = _expected_widgets(page)
            if expected["views"]:
                try:
                    tab.wait_for_function(
                        "n => Array.from(document.querySelectorAll('.widget-subarea'))"
                        ".filter(a => a.children.length > 0).length >= n",
                        arg=expected["views"],
                        timeout=RENDER_TIMEOUT_MS,
                    )
                except Exception as error:  # reported by test_widgets_render
                    result.render_error = str(error).splitlines()[0]
                tab.wait_for_load_state("networkidle")
            result.widgets = tab.evaluate(WIDGETS_JS)
            result.images = tab.evaluate(IMAGES_JS)
            if _is_chapter(page):
                shot = SCREENSHOTS / f"{page[: -len('.html')]}.png"
                shot.parent.mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=str(shot), full_page=True)
            if AXE.exists():
                tab.add_script_tag(path=str(AXE))
                result.axe = tab.evaluate(AXE_JS)
        finally:
            context.close()
        cache[page] = result
        return result

    return visit


# --------------------------------------------------------------------------- #
# The tests
# --------------------------------------------------------------------------- #


def test_pages_found() -> None:
    assert "index.html" in PAGES
    assert any(_is_chapter(page) for page in PAGES), "no chapter pages in the build"
    # The data chapter's digit browser is a panel the static book must run.
    assert "data-sb-panel" in (SITE / "book" / "meet_the_data.html").read_text(
        encoding="utf-8"
    ), "no digit browser panel in meet_the_data"


#: Issue 13: the generator's weights travel with the page, at most 1.5 MB a page.
PAGE_BUDGET = 1_500_000


@pytest.mark.parametrize("page", PAGES)
def test_page_fits_its_budget(page: str) -> None:
    size = (SITE / page).stat().st_size
    assert size <= PAGE_BUDGET, f"{page} is {size:,} bytes, over {PAGE_BUDGET:,}"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_cleanly_offline(visits, page: str) -> None:
    visit = visits(page)
    assert not visit.offsite, f"requests leaving localhost: {visit.offsite}"
    assert not visit.failed, f"failed requests: {visit.failed}"
    assert not visit.console_errors, f"console errors: {visit.console_errors}"


@pytest.mark.parametrize("page", WIDGET_PAGES)
def test_widgets_render_from_saved_state(visits, page: str) -> None:
    expected = _expected_widgets(page)
    visit = visits(page)
    assert visit.render_error is None, f"widgets did not render: {visit.render_error}"
    assert visit.widgets["rendered"] >= expected["views"], visit.widgets
    assert visit.widgets["sliders"] >= expected["sliders"], visit.widgets
    widget_images = [img for img in visit.images if img["inWidget"]]
    assert len(widget_images) >= expected["images"], "widget output images missing"
    for img in widget_images:
        assert img["visible"] and img["loaded"], f"widget image not shown: {img}"
        assert (img["alt"] or "").strip(), f"widget image without alt text: {img}"


@pytest.mark.parametrize("page", PAGES)
def test_images_have_alt_text(visits, page: str) -> None:
    missing = [
        img["src"] for img in visits(page).images if not (img["alt"] or "").strip()
    ]
    assert not missing, f"<img> without alt text: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_no_serious_accessibility_violations(visits, page: str) -> None:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}: run `make assets`")
    serious = [v for v in visits(page).axe if v["impact"] in ("serious", "critical")]
    assert not serious, json.dumps(serious, indent=1)


# What Font Awesome inserts when it read an icon's title before
# _static/a11y-fixes.js removed it (it parses at DOMContentLoaded and swaps the
# <i> for an <svg> a frame later): a <title> child and aria-labelledby. Rare on
# a real load (about 1 in 40 from file://), so the test makes it happen.
LATE_ICON_JS = """async () => {
    const button = document.querySelector('.theme-switch-button');
    const ns = 'http://www.w3.org/2000/svg';
    for (const icon of button.querySelectorAll('.theme-switch')) {
        const svg = document.createElementNS(ns, 'svg');
        svg.setAttribute('class', icon.getAttribute('class'));
        svg.setAttribute('data-mode', icon.dataset.mode);
        svg.setAttribute('role', 'img');
        svg.setAttribute('aria-labelledby', 'late-' + icon.dataset.mode);
        const title = document.createElementNS(ns, 'title');
        title.id = 'late-' + icon.dataset.mode;
        title.textContent = 'Light';
        svg.appendChild(title);
        icon.replaceWith(svg);
    }
    // A title set on an icon already in the page is dropped as well.
    button.querySelector('.theme-switch').setAttribute('title', 'Dark');
    await new Promise(resolve => setTimeout(resolve, 0));
    const result = await axe.run(button, {runOnly: ['label-content-name-mismatch']});
    return {
        violations: result.violations.map(v => v.id),
        titles: button.querySelectorAll('title, [title], [aria-labelledby]').length,
    };
}"""


def test_colour_mode_icons_keep_the_button_name_when_they_arrive_late(
    browser, server_url
) -> None:
    if not AXE.exists():
        pytest.skip("no axe-core in node_modules: run `make assets`")
    tab = browser.new_page()
    try:
        tab.goto(server_url + "book/intro.html", wait_until="load")
        tab.add_script_tag(path=str(AXE))
        result = tab.evaluate(LATE_ICON_JS)
    finally:
        tab.close()
    assert result == {"violations": [], "titles": 0}, result


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(page: str) -> None:
    """Every link to a page of the book, and every #anchor, exists (no browser needed)."""
    base = "http://book.invalid/"
    broken = []
    for href in _scan(page).links:
        target = urlsplit(urljoin(base + page, href))
        if target.scheme not in ("http", "https") or target.netloc != "book.invalid":
            continue  # external links, mailto:, javascript: are not checked here
        path = unquote(target.path[1:]) or "index.html"
        if path.endswith("/"):
            path += "index.html"
        if not (SITE / path).is_file():
            broken.append(f"{href} (no file {path})")
        elif target.fragment and path.endswith(".html"):
            if unquote(target.fragment) not in _scan(path).ids:
                broken.append(f"{href} (no #{target.fragment} in {path})")
    assert not broken, f"broken internal links in {page}: {broken}"


# --------------------------------------------------------------------------- #
# Every control is live without a kernel
# --------------------------------------------------------------------------- #

CHAPTERS = [page for page in PAGES if _is_chapter(page)]


@pytest.mark.parametrize("scheme", ["http", "file"])
@pytest.mark.parametrize("page", CHAPTERS)
def test_every_control_is_live_without_a_kernel(
    browser, server_url, page, scheme
) -> None:
    base = server_url if scheme == "http" else SITE.as_uri() + "/"
    report = exercise_controls(
        browser,
        base,
        page,
        scheme,
        views=_expected_widgets(page)["views"],
        axe=AXE,
        axe_js=AXE_JS,
        timeout_ms=RENDER_TIMEOUT_MS,
    )
    print(f"\n{page} ({scheme}): {len(report.live)}/{report.total} controls live")
    for line in report.live:
        print("   live:", line)
    assert not report.offsite, f"requests leaving the page's origin: {report.offsite}"
    assert not report.console_errors, f"console errors: {report.console_errors}"
    serious = [v for v in report.axe if v["impact"] in ("serious", "critical")]
    assert not serious, json.dumps(serious, indent=1)
    assert not report.dead, (
        f"controls that do not redraw within {LIVE_MS} ms: {report.dead}"
    )
