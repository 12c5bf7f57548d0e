"""``bench memory``: each notebook's peak memory, here and with a CPU-only torch.

For every notebook of the book it runs, with the model cache as it is (warm
after ``make book``; this is not a cold build), the notebook and a kernel that
only runs the notebook's import statements, and prints the peak memory here,
the CUDA libraries' part of it, the derived peak with a CPU-only torch (see
:mod:`synthbook.tools.memory`), and what the notebook itself adds to its
imports ("own"), with the cell that held the peak.

Set ``SYNTHBOOK_CPU_PYTHON`` to a Python that has a CPU-only torch, ipykernel
and the book's other dependencies (the chapters import ``synthbook`` through
``PYTHONPATH`` or an install): the same notebooks then also run in kernels of
that Python, which measures the CPU-only peak instead of deriving it, and the
benchmark prints the derived figure's error. Notebooks that fail there (for
instance for want of a torchvision that matches a CPU-only torch) are shown
as failed, not measured.
"""

from __future__ import annotations

import ast
import json
import os
import statistics
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from synthbook.tools import build
from synthbook.tools.execution import Run, run_notebooks
from synthbook.tools.exercises import find_root

#: A notebook's own allocations (its peak less that of its imports) above this
#: are worth a look.
OWN_MB = 300.0
CPU_KERNEL = "synthbook-cpu-torch"


def imports_only(nb: NotebookNode) -> NotebookNode:
    """Return a notebook with one cell: every import statement of ``nb``, in order."""
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(
            line
            for line in cell.source.splitlines()
            if not line.lstrip().startswith(("%", "!"))
        )
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        lines += [
            ast.unparse(node)
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
        ]
    cell = nbformat.v4.new_code_cell("\n".join(dict.fromkeys(lines)))
    return nbformat.v4.new_notebook(cells=[cell], metadata=nb.metadata)


def _with_kernel(nb: NotebookNode, name: str) -> NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata["kernelspec"] = {
        "name": name,
        "display_name": name,
        "language": "python",
    }
    return nb


def _cpu_kernel_spec(folder: Path, python: str) -> None:
    spec = folder / "kernels" / CPU_KERNEL
    spec.mkdir(parents=True)
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {"argv": argv, "display_name": "CPU-only torch", "language": "python"}
        ),
        encoding="utf-8",
    )


def _mb(value: float | None) -> str:
    return "     -" if value is None else f"{value:6,.0f}"


def _peak_cell(run: Run) -> str:
    if run.error is not None:
        return f"failed: {run.error[:60]}"
    if run.peak_cell is None or run.peak_cell >= len(run.nb.cells):
        return ""
    lines = run.nb.cells[run.peak_cell].source.strip().splitlines()
    return f"cell {run.peak_cell}: {lines[0][:50] if lines else ''}"


def bench_memory(root: str | Path | None = None, *, seconds: None = None) -> dict:
    """Run every notebook and its imports; print the memory table; return the runs.

    Returns
    -------
    dict
        ``{docname: {"here": Run, "imports": Run, "cpu": Run, "cpu_imports": Run}}``
        (the ``cpu`` entries only with ``SYNTHBOOK_CPU_PYTHON``).
    """
    if seconds is not None:
        raise ValueError("bench memory has no time budget: leave out --seconds")
    book = find_root(root)
    cpu_python = os.environ.get("SYNTHBOOK_CPU_PYTHON")
    notebooks = build.book_notebooks(book)
    jobs: list[tuple[str, str, NotebookNode]] = []
    for notebook in notebooks:
        nb = build.read_notebook(notebook)
        jobs += [
            (notebook.docname, "here", nb),
            (notebook.docname, "imports", imports_only(nb)),
        ]
        if cpu_python:
            jobs += [
                (notebook.docname, "cpu", _with_kernel(nb, CPU_KERNEL)),
                (
                    notebook.docname,
                    "cpu_imports",
                    _with_kernel(imports_only(nb), CPU_KERNEL),
                ),
            ]
    previous = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory(prefix="synthbook-kernels-") as folder:
        if cpu_python:
            _cpu_kernel_spec(Path(folder), cpu_python)
            os.environ["JUPYTER_PATH"] = os.pathsep.join(
                filter(None, [folder, previous])
            )
        try:
            runs = run_notebooks([nb for _, _, nb in jobs], timeout=1800)
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous
    table: dict[str, dict[str, Run]] = {}
    for (docname, kind, _), run in zip(jobs, runs, strict=True):
        table.setdefault(docname, {})[kind] = run
    _print(table, bool(cpu_python))
    return table


def _print(table: dict[str, dict[str, Run]], with_cpu: bool) -> None:
    width = max(len(name) for name in table)
    print(
        f"{'notebook':{width}}    peak    CUDA  CPU-only"
        + ("  measured   error" if with_cpu else "")
        + "  imports     own  (peak cell)"
    )
    errors = []
    for name, runs in table.items():
        here, imports = runs["here"], runs["imports"]
        cpu, cpu_imports = runs.get("cpu"), runs.get("cpu_imports")
        measured = cpu.peak_rss_mb if cpu is not None and cpu.error is None else None
        error = None
        if measured is not None and here.cpu_peak_mb is not None:
            error = here.cpu_peak_mb - measured
            errors.append(error)
        # What the notebook adds to its imports, with a CPU-only torch: measured if
        # both ran there, else derived.
        base, own = imports.cpu_peak_mb, None
        if (
            measured is not None
            and cpu_imports is not None
            and cpu_imports.error is None
        ):
            base = cpu_imports.peak_rss_mb
            own = measured - base
        elif here.cpu_peak_mb is not None and base is not None:
            own = here.cpu_peak_mb - base
        flag = (
            f"  <- own over {OWN_MB:,.0f} MB"
            if own is not None and own > OWN_MB
            else ""
        )
        print(
            f"{name:{width}}  {_mb(here.peak_rss_mb)}  {_mb(here.cuda_mb)}    "
            f"{_mb(here.cpu_peak_mb)}"
            + (
                f"    {_mb(measured)}  {'     -' if error is None else f'{error:+6,.0f}'}"
                if with_cpu
                else ""
            )
            + f"    {_mb(base)}"
            f"  {_mb(own)}  ({_peak_cell(here)}){flag}"
        )
    print(
        "MB are 10**6 bytes. peak: the kernel's highest resident memory here, its "
        "shutdown included; CUDA: the CUDA libraries' part; CPU-only: the derived "
        "peak with a CPU-only torch; imports: the same for a kernel that only runs "
        "the notebook's imports; own: the difference."
    )
    if errors:
        print(
            f"CPU-only figure against a CPU-only torch, over {len(errors)} notebooks: "
            f"mean {statistics.mean(errors):+.0f} MB, from {min(errors):+.0f} to "
            f"{max(errors):+.0f} MB."
        )
