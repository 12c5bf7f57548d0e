"""``{build-stats}``: each notebook's run time and its kernel's peak memory.

myst-nb's ``{nb-exec-table}`` shows run times only. ``make book``
(``synthbook.tools.build``) also records, in the same jupyter-cache record that
myst-nb reads its run time from, the peak resident memory of each kernel, the
part of it that is the CUDA libraries of PyPI's torch, and the peak the kernel
would have with a CPU-only torch, as on Binder (``synthbook.tools.memory``).
This directive shows them in the order of the table of contents, flags a
kernel over :data:`CPU_LIMIT_MB` with a CPU-only torch or over
:data:`HERE_LIMIT_MB` here, and explains the columns below the table. A notebook
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

# The fields of synthbook.tools.build (PEAK_FIELD, CUDA_FIELD, CPU_PEAK_FIELD).
PEAK_FIELD = "peak_rss_mb"
CUDA_FIELD = "cuda_libraries_mb"
CPU_PEAK_FIELD = "cpu_torch_peak_mb"
FIELDS = (PEAK_FIELD, CUDA_FIELD, CPU_PEAK_FIELD)
#: Public Binder guarantees 1 GB per session, and installs a CPU-only torch.
CPU_LIMIT_MB = 1000.0
#: Limit here, with PyPI's CUDA build (synthbook.tools.bench.build.PEAK_MB).
HERE_LIMIT_MB = 1500.0
_HEADERS = (
    "Notebook",
    "Run time (s)",
    "Peak memory here (MB)",
    "CUDA libraries (MB)",
    "Peak with CPU-only torch (MB)",
)
_FLAGS = (
    f"Flagged: over {CPU_LIMIT_MB / 1000:g} GB with CPU-only torch (Binder's "
    f"limit) or over {HERE_LIMIT_MB / 1000:g} GB here."
)


def explanation(memory: dict[str, dict[str, float]]) -> str:
    """Return the note under the table: what the memory columns mean, for this build."""
    units = (
        "Memory is the kernel's peak resident memory in MB (millions of bytes), "
        "its shutdown included. "
    )
    if any(values.get(CUDA_FIELD, 0.0) > 0 for values in memory.values()):
        return units + (
            "PyPI's torch, used here, loads CUDA libraries that a computer without "
            "a GPU never uses (their memory is the fourth column); the last column, "
            "the highest memory of any cell less theirs, estimates, on the high "
            "side, what the kernel needs with the CPU-only torch that Binder "
            "installs. " + _FLAGS
        )
    return units + (
        "This copy was built with a CPU-only torch, as Binder installs: no CUDA "
        "library was loaded, and the last column is the highest memory of any "
        "cell. " + _FLAGS
    )


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


def _memory(env: Any, docnames: list[str]) -> dict[str, dict[str, float]]:
    """Return the memory fields recorded for each notebook (only those present)."""
    path = getattr(getattr(env, "mystnb_config", None), "execution_cache_path", "")
    if not path:
        return {}
    cache = get_cache(path)
    memory: dict[str, dict[str, float]] = {}
    for docname in docnames:
        try:
            record = cache.get_cached_project_nb(str(env.doc2path(docname)))
        except (KeyError, OSError, ValueError):
            continue
        data = (record.data or {}) if record is not None else {}
        memory[docname] = {
            field: float(data[field]) for field in FIELDS if data.get(field) is not None
        }
    return memory


def _mb(values: dict[str, float], field: str, limit: float | None = None) -> str:
    if field not in values:
        return "-"
    text = f"{values[field]:,.0f}"
    if limit is not None and values[field] > limit:
        text += f" (over {limit / 1000:g} GB)"
    return text


def _cell(content: nodes.Node | str) -> nodes.entry:
    paragraph = nodes.paragraph()
    paragraph += content if isinstance(content, nodes.Node) else nodes.Text(content)
    return nodes.entry("", paragraph)


def make_table(env: Any, here: str) -> list[nodes.Node]:
    """Build the table and its note from myst-nb's execution data and the cache."""
    runs = {
        docname: data["exec_data"]
        for docname, data in NbMetadataCollector.get_doc_data(env).items()
        if data.get("exec_data")
    }
    order = [d for d in _toc_order(env, env.config.root_doc, []) if d in runs]
    order += sorted(set(runs) - set(order))
    memory = _memory(env, order)
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
        values = memory.get(docname, {})
        row += _cell(_mb(values, PEAK_FIELD, HERE_LIMIT_MB))
        row += _cell(_mb(values, CUDA_FIELD))
        row += _cell(_mb(values, CPU_PEAK_FIELD, CPU_LIMIT_MB))
        body += row
    return [table, nodes.paragraph("", explanation(memory))]


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
