"""Execute notebooks a few at a time, each kernel in a temporary folder of its own.

Used by the book build (:mod:`synthbook.tools.build`) and the exercise tests.
Each notebook runs in a new worker process, so the largest child that worker
reaps is the notebook's kernel: its peak resident memory is measured exactly
(``getrusage``), not sampled.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jupyter_cache.executors.utils import single_nb_execution
from nbformat import NotebookNode

#: Notebooks executed at once. Measured here: two one-thread GAN processes each
#: keep about 60 steps/s on two cores, one process on two threads manages 52.
WORKERS = 2
#: Each kernel uses one thread and sleeps, rather than spins, while it waits.
THREAD_ENV = {
    "SYNTHBOOK_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
}


@dataclass
class Run:
    """One notebook executed: its outputs, time, peak memory and any error."""

    nb: NotebookNode
    seconds: float
    peak_rss_mb: float
    error: str | None = None
    traceback: str | None = None


def _peak_child_rss_mb() -> float:
    """Peak resident memory of the largest finished child process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss is in bytes on macOS, in kibibytes on Linux; MB here are 10**6 bytes.
    return (peak if sys.platform == "darwin" else peak * 1024) / 1e6


def _run_one(job: tuple[NotebookNode, int | None, bool]) -> Run:
    """Execute one notebook in a temporary folder (in a fresh worker process).

    The worker runs only this notebook (``maxtasksperchild=1``), so its largest
    finished child is this notebook's kernel: that is the peak memory reported.
    """
    nb, timeout, allow_errors = job
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="synthbook-run-") as cwd:
        try:
            result = single_nb_execution(
                nb, cwd=cwd, timeout=timeout, allow_errors=allow_errors
            )
        except (
            Exception
        ) as err:  # the kernel died (out of memory, say) or never started
            return Run(
                nb,
                time.perf_counter() - start,
                _peak_child_rss_mb(),
                f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}",
                traceback.format_exc(),
            )
    error = None
    if result.err is not None:
        ename = getattr(result.err, "ename", "") or type(result.err).__name__
        evalue = getattr(result.err, "evalue", "") or str(result.err).strip()
        error = f"{ename}: {evalue.splitlines()[0] if evalue else ''}".rstrip(": ")
    return Run(result.nb, result.time, _peak_child_rss_mb(), error, result.exc_string)


def run_notebooks(
    notebooks: Sequence[NotebookNode],
    *,
    workers: int = WORKERS,
    timeout: int | None = None,
    allow_errors: bool = False,
    on_done: Callable[[int, Run], None] | None = None,
) -> list[Run]:
    """Execute ``notebooks`` ``workers`` at a time; return their runs in order.

    Each notebook runs in a new process, with :data:`THREAD_ENV` unless the
    environment says otherwise, its kernel in a temporary folder that is
    deleted afterwards. ``on_done(index, run)`` is called as each one finishes.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not notebooks:
        return []
    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)
    jobs = [(nb, timeout, allow_errors) for nb in notebooks]
    runs: list[Run | None] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(jobs)), maxtasksperchild=1) as pool:
        indexed = pool.imap_unordered(_run_indexed, enumerate(jobs), chunksize=1)
        for index, run in indexed:
            runs[index] = run
            if on_done is not None:
                on_done(index, run)
    return [run for run in runs if run is not None]


def _run_indexed(
    item: tuple[int, tuple[NotebookNode, int | None, bool]],
) -> tuple[int, Run]:
    return item[0], _run_one(item[1])
