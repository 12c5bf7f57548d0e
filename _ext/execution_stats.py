"""``{build-stats}``: each notebook's run time and its kernel's peak memory.

myst-nb's ``{nb-exec-table}`` shows run times only. ``make book``
(``synthbook.tools.build``) also records the peak resident memory of each
kernel in the same jupyter-cache record that myst-nb reads its run time from;
this directive shows both, in the order of the table of contents. A notebook
that Jupyter Book executed itself (not through ``make book``) shows its time
and "-" for memory. Nothing here is typed by hand: every figure is measured.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from jupyter_cache import get_cache
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

PEAK_FIELD = "peak_rss_mb"  # synthbook.tools.build.PEAK_FIELD
_HEADERS = ("Notebook", "Run time (s)", "Peak memory (MB)")


class BuildStatsNode(nodes.General, nodes.Element):
    """Placeholder, replaced once every page has been read."""


class BuildStats(SphinxDirective):
    """Insert the table."""

    def run(self) -> list[nodes.Node]:
        """Return the placeholder node."""
        return [BuildStatsNode()]


def _toc_order(env: Any, docname: str, seen: list[str]) -> list[str]:
    for child in env.toctree_includes.get(docname, []):
        if child not in seen:
            seen.append(child)
            _toc_order(env, child, seen)
    return seen


def _peaks(env: Any, docnames: list[str]) -> dict[str, float]:
    path = getattr(getattr(env, "mystnb_config", None), "execution_cache_path", "")
    if not path:
        return {}
    cache = get_cache(path)
    peaks = {}
    for docname in docnames:
        try:
            record = cache.get_cached_project_nb(str(env.doc2path(docname)))
        except (KeyError, OSError, ValueError):
            continue
        value = (record.data or {}).get(PEAK_FIELD) if record is not None else None
        if value is not None:
            peaks[docname] = float(value)
    return peaks


def _cell(content: nodes.Node | str) -> nodes.entry:
    paragraph = nodes.paragraph()
    paragraph += content if isinstance(content, nodes.Node) else nodes.Text(content)
    return nodes.entry("", paragraph)


def make_table(env: Any, here: str) -> nodes.table:
    """Build the table from myst-nb's execution data and the cache records."""
    runs = {
        docname: data["exec_data"]
        for docname, data in NbMetadataCollector.get_doc_data(env).items()
        if data.get("exec_data")
    }
    order = [d for d in _toc_order(env, env.config.root_doc, []) if d in runs]
    order += sorted(set(runs) - set(order))
    peaks = _peaks(env, order)
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(_HEADERS))
    table += group
    for _ in _HEADERS:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    row = nodes.row()
    head += row
    for header in _HEADERS:
        row += _cell(header)
    body = nodes.tbody()
    group += body
    for docname in order:
        link = addnodes.pending_xref(
            refdoc=here,
            reftarget="/" + docname,
            reftype="doc",
            refdomain="std",
            refexplicit=False,
            refwarn=True,
        )
        link += nodes.literal(text=docname)
        runtime = runs[docname].get("runtime")
        row = nodes.row()
        row += _cell(link)
        row += _cell("-" if runtime is None else f"{runtime:.0f}")
        row += _cell(f"{peaks[docname]:,.0f}" if docname in peaks else "-")
        body += row
    return table


class BuildStatsTransform(SphinxPostTransform):
    """Replace the placeholder with the table (before references are resolved)."""

    default_priority = 8

    def run(self, **kwargs: Any) -> None:
        """Fill every placeholder of this page."""
        for node in list(self.document.findall(BuildStatsNode)):
            node.replace_self(make_table(self.env, self.env.docname))


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive."""
    app.add_node(BuildStatsNode)
    app.add_directive("build-stats", BuildStats)
    app.add_post_transform(BuildStatsTransform)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
