"""Learner sessions for ``bench classroom``: one notebook, one kernel, one process.

Kept apart from :mod:`synthbook.tools.bench` (whose package imports PyTorch) so
that each worker process stays small: the worker runs one notebook, and its
only child is that notebook's kernel, whose peak resident memory the operating
system then reports exactly (``getrusage``).
"""

from __future__ import annotations

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
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

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
    """One notebook executed in a kernel of its own."""

    notebook: str
    at_once: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    error: str | None = None


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
    nb = nbformat.read(path, as_version=4)
    error = None
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="synthbook-session-") as cwd:
        client = NotebookClient(
            nb, timeout=TIMEOUT_S, resources={"metadata": {"path": cwd}}
        )
        try:
            client.execute()
        except CellExecutionError as err:
            error = _error(err)
    seconds = time.perf_counter() - start
    # The worker's only child was the kernel, and it has exited: exact figures.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Session(
        Path(path).stem,
        at_once,
        seconds,
        usage.ru_utime + usage.ru_stime,
        _mb(usage.ru_maxrss),
        error,
    )


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
