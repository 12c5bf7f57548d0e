"""Learner sessions: one notebook, one kernel, one process; and warming a cache.

``python -m synthbook.tools.sessions`` executes every chapter and every exercise
(solutions) once, one at a time, so that the model cache (``SYNTHBOOK_CACHE``)
holds everything they compute: the session image's ``postBuild`` runs it after
``prepare``, and ``bench classroom`` does the same before it measures. It exits
non-zero, naming the notebook, when any fails.

Kept apart from :mod:`synthbook.tools.bench` (whose package imports PyTorch) so
that each worker process stays small: the worker runs one notebook, and its
only child is that notebook's kernel, whose peak resident memory the operating
system then reports exactly (``getrusage``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from synthbook.tools.memory import CellPeaks, cpu_build_peak_mb, load_allocation_mb

#: Parts of the table of contents that hold no chapters.
NOT_CHAPTERS = ("Exercises", "Back matter")
#: The exercise notebooks a learner works in, with every answer filled in.
SOLUTIONS = Path("exercises/solutions")
#: A notebook may take this long before the run is declared hung.
TIMEOUT_S = 1800
#: Each kernel on one thread, sleeping rather than spinning while it waits.
THREAD_ENV = {
    "SYNTHBOOK_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
}


@dataclass(frozen=True)
class Session:
    """One notebook executed in a kernel of its own.

    ``peak_rss_mb`` is the kernel's peak resident memory, measured exactly.
    ``cpu_peak_mb`` is its peak with a CPU-only torch: the same figure when the
    kernel's torch is CPU-only; with a CUDA build (PyPI's wheel), the figure
    derived by :mod:`synthbook.tools.memory` (which errs about 100 MB high);
    ``None`` where it could not be measured.
    """

    notebook: str
    at_once: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    error: str | None = None
    cpu_peak_mb: float | None = None


@dataclass(frozen=True)
class FirstFigure:
    """Seconds from starting a kernel to a chapter's first figure."""

    chapter: str
    kernel_start_s: float
    seconds: float
    cells: int
    error: str | None = None


def _mb(kib_or_bytes: int) -> float:
    # ru_maxrss is in kibibytes on Linux, bytes on macOS; MB here are 10**6 bytes.
    return (kib_or_bytes if sys.platform == "darwin" else kib_or_bytes * 1024) / 1e6


def _error(err: Exception) -> str:
    name = getattr(err, "ename", "") or type(err).__name__
    value = str(getattr(err, "evalue", "") or err).strip().splitlines()
    return f"{name}: {value[0] if value else ''}"


def run_session(job: tuple[str, int]) -> Session:
    """Execute one notebook in a temporary folder (in a fresh worker process)."""
    path, at_once = job
    nb = jupytext.read(path)  # a chapter (MyST Markdown) or an .ipynb
    error = None
    start = time.perf_counter()
    peaks = CellPeaks()
    with tempfile.TemporaryDirectory(prefix="synthbook-session-") as cwd:
        client = NotebookClient(
            nb,
            timeout=TIMEOUT_S,
            kernel_name="python3",
            resources={"metadata": {"path": cwd}},
            on_cell_execute=peaks.before_cell,
            on_cell_executed=peaks.after_cell,
        )
        try:
            client.execute()
        except CellExecutionError as err:
            error = _error(err)
    seconds = time.perf_counter() - start
    # The worker's only child was the kernel, and it has exited: exact figures.
    # (Read before the probe below, another child.) Resetting the kernel's
    # high-water mark before each cell also resets what getrusage reports, so
    # the exact peak is the larger of the two.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = max(_mb(usage.ru_maxrss), peaks.running_peak_mb or 0.0)
    return Session(
        Path(path).stem,
        at_once,
        seconds,
        usage.ru_utime + usage.ru_stime,
        peak,
        error,
        _cpu_only_peak(peaks, peak),
    )


def _cpu_only_peak(peaks: CellPeaks, peak: float) -> float | None:
    """Return the kernel's peak with a CPU-only torch (see :class:`Session`)."""
    if peaks.cpu_peak_mb is None:
        return None
    if not peaks.cuda_paths:  # a CPU-only torch: nothing to subtract
        return peak
    try:
        load = load_allocation_mb(peaks.cuda_paths)
    except RuntimeError as err:
        print(f"warning: CPU-only peak not derived: {err}", file=sys.stderr)
        return None
    return cpu_build_peak_mb(peaks.cpu_peak_mb, load)


def _has_figure(cell: nbformat.NotebookNode) -> bool:
    return any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def first_figure(path: str) -> FirstFigure:
    """Run a chapter cell by cell until a cell draws a figure (in a fresh worker)."""
    nb = jupytext.read(path)
    error, cells = None, 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="synthbook-chapter-") as cwd:
        client = NotebookClient(
            nb,
            timeout=TIMEOUT_S,
            kernel_name="python3",
            resources={"metadata": {"path": cwd}},
        )
        with client.setup_kernel():
            kernel_start = time.perf_counter() - start
            try:
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    client.execute_cell(cell, index)
                    cells += 1
                    if _has_figure(cell):
                        break
                else:
                    error = "no figure"
            except CellExecutionError as err:
                error = _error(err)
            seconds = time.perf_counter() - start
    return FirstFigure(Path(path).stem, kernel_start, seconds, cells, error)


def in_fresh_processes(function: Any, jobs: Sequence[Any], at_once: int) -> list:
    """Run ``function`` over ``jobs``, ``at_once`` at a time, one new process each."""
    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)
    context = multiprocessing.get_context("spawn")
    with context.Pool(at_once, maxtasksperchild=1) as pool:
        return pool.map(function, jobs, chunksize=1)


def chapters(root: Path) -> list[Path]:
    """Return the chapters: notebook pages of the toc, not exercises or back matter."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [
        entry["file"]
        for part in toc["parts"]
        if part.get("caption") not in NOT_CHAPTERS
        for entry in part["chapters"]
    ]
    found = []
    for name in files:
        path = root / f"{name}.md"
        if "\nkernelspec:" in path.read_text().split("\n---", 1)[0]:
            found.append(path)
    return found


def exercises(root: Path) -> list[Path]:
    """Return the exercise notebooks with their solutions, in order."""
    return sorted((root / SOLUTIONS).glob("[0-9]*.ipynb"))


def warm(paths: Sequence[Path]) -> list[Session]:
    """Execute each notebook once, one at a time; return the runs."""
    return [in_fresh_processes(run_session, [(str(p), 0)], 1)[0] for p in paths]


def main(argv: Sequence[str] | None = None) -> int:
    """Warm the model cache: ``python -m synthbook.tools.sessions [--root DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m synthbook.tools.sessions",
        description="Execute every chapter and exercise once, filling the cache.",
    )
    parser.add_argument("--root", default=".", help="the repository (default: .)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    runs = warm(chapters(root) + exercises(root))
    for run in runs:
        state = f"FAILED: {run.error}" if run.error else "ok"
        print(f"{run.notebook}: {run.seconds:.0f} s, {state}", flush=True)
    return 1 if any(run.error for run in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
