"""Build the book: shared models first, then the chapters two at a time, then HTML.

``make book`` runs ``python -m synthbook.tools.build``, which

1. runs :mod:`synthbook.tools.prepare` (the models several chapters share);
2. stages every notebook of the table of contents in the jupyter-cache project
   that myst-nb reads (``_build/.jupyter_cache``) and executes each one without
   a valid cached run, :data:`WORKERS` at a time, every kernel on one torch
   thread and in a temporary folder of its own (``run_in_temp``: no chapter
   reads files another wrote);
3. stops with exit status 1, naming what failed, when any execution failed. A
   failed run is never cached, so the next build executes it again and fails
   again, until the notebook is fixed;
4. builds the HTML with Jupyter Book (:data:`BOOK_FLAGS`). ``--all`` re-reads
   every page from the execution cache, so every warning fails every build,
   not just the first build after the page changed.

A cached run is valid when myst-nb's own key matches (the notebook's code cells
and kernel) *and* :func:`~synthbook.tools.inputs.inputs_key` does: the code of the ``synthbook``
modules the notebook imports, with everything they import in turn, the
versions of the libraries that compute the results, and the environment
variables that change them. Editing ``src/synthbook/gan.py`` re-executes the
notebooks that import it, directly or not, and no other.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.cache.db import NbCacheRecord, NbProjectRecord
from jupyter_cache.cache.main import JupyterCacheBase
from jupyter_cache.readers import get_reader
from myst_nb.core.read import is_myst_markdown_notebook
from nbformat import NotebookNode
from sphinx_external_toc.parsing import parse_toc_yaml

from synthbook.tools.execution import THREAD_ENV, WORKERS, Run, run_notebooks
from synthbook.tools.inputs import inputs_key

#: Jupyter Book's flags: warnings are errors, broken references too, all reported.
BOOK_FLAGS = ("-W", "-n", "--keep-going", "--all")
#: The readers myst-nb registers with jupyter-cache, by file suffix.
READERS = {
    ".md": {"type": "plugin", "name": "myst_nb_md"},
    ".ipynb": {"type": "plugin", "name": "nbformat"},
}
#: Field of a jupyter-cache record's ``data`` that holds the inputs key.
INPUTS_FIELD = "synthbook_inputs"
PEAK_FIELD = "peak_rss_mb"
#: The CUDA libraries' part of the kernel's memory, and its peak with a CPU-only
#: torch (see :mod:`synthbook.tools.memory`); ``None`` when not measured.
CUDA_FIELD = "cuda_libraries_mb"
CPU_PEAK_FIELD = "cpu_torch_peak_mb"
PEAK_CELL_FIELD = "peak_cell"
SECONDS_FIELD = "execution_seconds"  # what myst-nb reads for its statistics

_ERROR_MARKS = {
    "an error output": re.compile(r'class="output traceback'),
    "a printed traceback": re.compile(r"Traceback \(most recent call last\)"),
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_JUPYTER_BOOK = "import sys; from jupyter_book.cli.main import main; sys.exit(main())"


@dataclass(frozen=True)
class Notebook:
    """A page of the table of contents that is a notebook."""

    docname: str
    path: Path

    @property
    def read_data(self) -> dict[str, str]:
        """The jupyter-cache reader myst-nb uses for this file."""
        return READERS[self.path.suffix]


@dataclass(frozen=True)
class Execution:
    """What happened to one notebook in a build."""

    docname: str
    seconds: float | None
    peak_rss_mb: float | None
    status: str  # "executed", "cached" or "failed"
    error: str | None = None
    cuda_mb: float | None = None
    cpu_peak_mb: float | None = None
    peak_cell: str | None = None  # the first line of the cell that held the peak


# What to execute -------------------------------------------------------------------------


def book_notebooks(root: Path, toc: Path | None = None) -> list[Notebook]:
    """Return the notebooks of the table of contents, in its order.

    Raises
    ------
    FileNotFoundError
        If a page listed in the table of contents has no source file.
    """
    site = parse_toc_yaml(toc or root / "_toc.yml")
    notebooks = []
    for docname in site:
        candidates = [root / f"{docname}{suffix}" for suffix in (".md", ".ipynb")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise FileNotFoundError(
                f"the table of contents lists {docname!r}, but neither "
                f"{docname}.md nor {docname}.ipynb exists under {root}"
            )
        if path.suffix == ".ipynb" or is_myst_markdown_notebook(
            path.read_text(encoding="utf-8")
        ):
            notebooks.append(Notebook(docname, path.resolve()))
    return notebooks


def execution_config(root: Path) -> dict[str, Any]:
    """Return the ``execute`` section of the book's ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return dict(config.get("execute") or {})


def cache_folder(root: Path, output: Path | None = None) -> Path:
    """Return the jupyter-cache folder Jupyter Book (myst-nb) uses for this build."""
    configured = execution_config(root).get("cache")
    if configured:
        return (root / configured).resolve()
    return ((output or root) / "_build" / ".jupyter_cache").resolve()


# The inputs a notebook's outputs depend on, beyond its own code -------------------------


def _last_seconds(cache: JupyterCacheBase) -> dict[str, float]:
    """Return the latest recorded execution time of each notebook (to schedule)."""
    seconds: dict[str, float] = {}
    records = sorted(NbCacheRecord.records_all(cache.db), key=lambda r: r.pk)
    for record in records:
        value = (record.data or {}).get(SECONDS_FIELD)
        if value is not None:
            seconds[record.uri] = float(value)
    return seconds


def read_notebook(notebook: Notebook) -> NotebookNode:
    """Read the notebook as myst-nb does (with the same jupyter-cache reader)."""
    return get_reader(notebook.read_data)(str(notebook.path))


def plan(
    cache: JupyterCacheBase, notebooks: Sequence[Notebook]
) -> tuple[list[Execution], list[Notebook]]:
    """Split ``notebooks`` into valid cached runs and those to execute.

    Each notebook is staged in the cache's project (as myst-nb does). A cached
    run whose :func:`inputs_key` differs is removed, so that myst-nb cannot use
    it either.
    """
    cached, to_run = [], []
    for notebook in notebooks:
        cache.add_nb_to_project(str(notebook.path), read_data=notebook.read_data)
        nb = read_notebook(notebook)
        try:
            record = cache.match_cache_notebook(nb)
        except KeyError:
            record = None
        data = (record.data or {}) if record is not None else {}
        if record is not None and data.get(INPUTS_FIELD) == inputs_key(nb):
            cached.append(
                Execution(
                    notebook.docname,
                    data.get(SECONDS_FIELD),
                    data.get(PEAK_FIELD),
                    "cached",
                    cuda_mb=data.get(CUDA_FIELD),
                    cpu_peak_mb=data.get(CPU_PEAK_FIELD),
                    peak_cell=data.get(PEAK_CELL_FIELD),
                )
            )
            continue
        if record is not None:
            try:
                cache.remove_cache(record.pk)
            except KeyError:  # its notebook file is gone already
                NbCacheRecord.remove_records([record.pk], cache.db)
        to_run.append(notebook)
    return cached, to_run


def report_path(cache: JupyterCacheBase, docname: str) -> Path:
    """Where the full traceback of a failed notebook is written."""
    return Path(cache.path).parent / "reports" / f"{docname}.err.log"


def _peak_cell(run: Run) -> str | None:
    if run.peak_cell is None or run.peak_cell >= len(run.nb.cells):
        return None
    lines = run.nb.cells[run.peak_cell].source.strip().splitlines()
    return f"cell {run.peak_cell}: {lines[0][:60] if lines else ''}"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _record(
    cache: JupyterCacheBase, notebook: Notebook, run: Run, key: str
) -> Execution:
    uri = str(notebook.path)
    memory = {
        "cuda_mb": _rounded(run.cuda_mb),
        "cpu_peak_mb": _rounded(run.cpu_peak_mb),
        "peak_cell": _peak_cell(run),
    }
    report = report_path(cache, notebook.docname)
    report.unlink(missing_ok=True)
    if run.error is not None:
        NbProjectRecord.set_traceback(uri, run.traceback, cache.db)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(_ANSI.sub("", run.traceback or ""), encoding="utf-8")
        return Execution(
            notebook.docname,
            run.seconds,
            run.peak_rss_mb,
            "failed",
            run.error,
            **memory,
        )
    data = {
        SECONDS_FIELD: run.seconds,
        PEAK_FIELD: round(run.peak_rss_mb, 1),
        CUDA_FIELD: memory["cuda_mb"],
        CPU_PEAK_FIELD: memory["cpu_peak_mb"],
        PEAK_CELL_FIELD: memory["peak_cell"],
        INPUTS_FIELD: key,
    }
    cache.cache_notebook_bundle(
        CacheBundleIn(run.nb, uri, data=data), check_validity=False, overwrite=True
    )
    return Execution(
        notebook.docname, run.seconds, run.peak_rss_mb, "executed", **memory
    )


def _line(done: int, total: int, execution: Execution) -> str:
    seconds = f"{execution.seconds:6.1f} s" if execution.seconds is not None else "?"
    memory = (
        f"{execution.peak_rss_mb:,.0f} MB" if execution.peak_rss_mb is not None else "?"
    )
    if execution.cpu_peak_mb is not None:
        memory += f" ({execution.cpu_peak_mb:,.0f} MB with CPU-only torch)"
    return (
        f"[{done}/{total}] {execution.status:8} {execution.docname}: "
        f"{seconds}, peak {memory}"
    )


def execute(
    cache: JupyterCacheBase,
    notebooks: Sequence[Notebook],
    *,
    workers: int = WORKERS,
    timeout: int | None = None,
) -> list[Execution]:
    """Execute ``notebooks`` ``workers`` at a time, longest first; cache each success.

    A failure's traceback is stored in the cache's project record and in
    :func:`report_path`; nothing is cached for it.
    """
    previous = _last_seconds(cache)
    order = sorted(notebooks, key=lambda nb: -previous.get(str(nb.path), math.inf))
    nbs = [read_notebook(notebook) for notebook in order]
    keys = [inputs_key(nb) for nb in nbs]
    results: list[Execution] = []

    def done(index: int, run: Run) -> None:
        execution = _record(cache, order[index], run, keys[index])
        results.append(execution)
        print(_line(len(results), len(order), execution), flush=True)

    run_notebooks(nbs, workers=workers, timeout=timeout, on_done=done)
    return results


# The whole build -------------------------------------------------------------------------


def _report(executions: Sequence[Execution], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps([asdict(e) for e in executions], indent=1) + "\n", encoding="utf-8"
    )


def pages_with_errors(
    html: Path, docnames: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Return the built pages that show an error output or a traceback, and what.

    myst-nb renders a cell's error output as ``<div class="output traceback
    ...">``; a traceback printed to a stream shows its first line. Only the
    pages of ``docnames`` are read when given, else every page under ``html``.
    """
    found: dict[str, list[str]] = {}
    pages = (
        sorted(html.rglob("*.html"))
        if docnames is None
        else [html / f"{name}.html" for name in docnames]
    )
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        what = [
            label
            for label, pattern in _ERROR_MARKS.items()
            if pattern.search(text) is not None
        ]
        if what:
            found[page.relative_to(html).as_posix()] = what
    return found


def run_prepare(workers: int = WORKERS) -> int:
    """Run :mod:`synthbook.tools.prepare` in a child process; return its exit code."""
    return subprocess.call(
        [sys.executable, "-m", "synthbook.tools.prepare", "--workers", str(workers)]
    )


def run_jupyter_book(
    root: Path, *, toc: Path | None = None, output: Path | None = None
) -> int:
    """Build the HTML with Jupyter Book from the execution cache; return its exit code."""
    command = [sys.executable, "-c", _JUPYTER_BOOK, "build", str(root), *BOOK_FLAGS]
    if toc is not None:
        command += ["--toc", str(toc)]
    if output is not None:
        command += ["--path-output", str(output)]
    return subprocess.call(command)


def build(
    root: Path,
    *,
    toc: Path | None = None,
    output: Path | None = None,
    workers: int = WORKERS,
    prepare: bool = True,
    html: bool = True,
    data: str | None = None,
) -> int:
    """Build the book in ``root``; return 0 when every notebook ran and Sphinx passed.

    Parameters
    ----------
    root : Path
        The book's folder (``_config.yml``, ``_toc.yml``).
    toc : Path, optional
        Another table of contents (default ``root/_toc.yml``).
    output : Path, optional
        Where ``_build`` goes (default ``root``).
    workers : int, default :data:`WORKERS`
        Notebooks executed at once.
    prepare : bool, default True
        Run :mod:`synthbook.tools.prepare` first.
    html : bool, default True
        Build the HTML after executing.
    data : str, optional
        MNIST source for every chapter (sets ``SYNTHBOOK_DATA``; default: the
        variable's value, else the embedded sample the book was written for).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)
    if data is not None:
        os.environ["SYNTHBOOK_DATA"] = data
    root = root.resolve()
    start = time.perf_counter()
    if prepare and (code := run_prepare(workers)) != 0:
        print(f"prepare failed (exit status {code}): not building", file=sys.stderr)
        return code
    notebooks = book_notebooks(root, toc)
    cache = get_cache(str(cache_folder(root, output)))
    cached, to_run = plan(cache, notebooks)
    print(
        f"{len(notebooks)} notebooks: {len(cached)} cached, "
        f"{len(to_run)} to execute, {workers} at a time",
        flush=True,
    )
    timeout = execution_config(root).get("timeout")
    executed = execute(cache, to_run, workers=workers, timeout=timeout)
    order = {nb.docname: i for i, nb in enumerate(notebooks)}
    everything = sorted(cached + executed, key=lambda e: order[e.docname])
    _report(everything, cache_folder(root, output).parent / "execution.json")
    failed = [e for e in executed if e.status == "failed"]
    if failed:
        print(
            f"\n{len(failed)} notebook(s) failed to execute; the book was not built:",
            file=sys.stderr,
        )
        for execution in failed:
            print(
                f"  {execution.docname}: {execution.error}\n"
                f"    traceback: {report_path(cache, execution.docname)}",
                file=sys.stderr,
            )
        print(
            "Fix them and build again: a failed run is not cached, so it runs again.",
            file=sys.stderr,
        )
        return 1
    print(f"executed in {time.perf_counter() - start:.0f} s", flush=True)
    if not html:
        return 0
    html_dir = (output or root).resolve() / "_build" / "html"
    # Every page is written again (--all); no page of an earlier build survives.
    shutil.rmtree(html_dir, ignore_errors=True)
    code = run_jupyter_book(root, toc=toc, output=output)
    if code != 0:
        return code
    bad = pages_with_errors(html_dir, [nb.docname for nb in notebooks])
    for page, what in bad.items():
        print(f"{html_dir / page} shows {' and '.join(what)}", file=sys.stderr)
    return 1 if bad else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m synthbook.tools.build [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m synthbook.tools.build",
        description="Prepare shared models, execute the book's notebooks "
        f"{WORKERS} at a time (cached), then build the HTML.",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="book folder")
    parser.add_argument("--toc", type=Path, default=None, help="table of contents")
    parser.add_argument(
        "--path-output", type=Path, default=None, help="where _build goes"
    )
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument(
        "--no-prepare", action="store_true", help="skip training the shared models"
    )
    parser.add_argument(
        "--execute-only", action="store_true", help="execute, but build no HTML"
    )
    parser.add_argument("--data", choices=["auto", "mnist", "embedded"], default=None)
    args = parser.parse_args(argv)
    return build(
        args.root,
        toc=args.toc,
        output=args.path_output,
        workers=args.workers,
        prepare=not args.no_prepare,
        html=not args.execute_only,
        data=args.data,
    )


if __name__ == "__main__":
    raise SystemExit(main())
