"""Sphinx fixes for the book's HTML, found by tests/test_browser.py.

1. No duplicated inline ``<script>`` blocks. Sphinx 7.4 (the line Jupyter
   Book 1.x requires) writes an inline script twice when an extension
   registers it with ``app.add_js_file(None, body=...)`` after the builder is
   initialised: once as ``filename=None`` and again, at ``prepare_writing``,
   as ``filename=''``, which its de-duplication sees as a different file.
   sphinx-thebe registers ``const THEBE_JS_URL = ...`` that way, so every page
   raised "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared"
   in the browser console. We drop exact duplicates from each page's scripts.

2. Bibliography entries with a valid ARIA role. docutils marks each citation
   ``role="doc-biblioentry"`` (deprecated in ARIA 1.2) inside a
   ``role="list"``; axe-core then finds the list without allowed children
   (critical: aria-required-children). A list needs ``role="listitem"``.

Fixes to the theme's own templates are in _static/a11y-fixes.js.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))


def dedupe_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Remove repeated scripts (same file, or same inline body, and same attributes)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def fix_citation_roles(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Give bibliography entries the ``listitem`` role their ``list`` requires."""
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def setup(app: Any) -> dict[str, Any]:
    """Register the handlers; scripts are de-duplicated after other extensions ran."""
    app.connect("html-page-context", dedupe_scripts, priority=900)
    app.connect("html-page-context", fix_citation_roles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
