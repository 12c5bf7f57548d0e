"""Execute notebooks a few at a time, each kernel in a temporary folder of its own.

Used by the book build (:mod:`synthbook.tools.build`) and the exercise tests.
Each notebook runs in a child process of its own (``python -m
synthbook.tools.execution IN OUT``), which starts the kernel, so the largest
child that process reaps is the notebook's kernel: its peak resident memory is
measured exactly (``getrusage``, and the kernel's own high-water mark read
between cells), not sampled. Between cells that process also measures how much
of the kernel's memory is the CUDA libraries of PyPI's torch, and so the peak
the kernel would have with a CPU-only torch, as on Binder
(:mod:`synthbook.tools.memory`). Child processes, not a ``multiprocessing``
pool: a pool re-imports the caller's main module in every worker, and loops
forever when that fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_cache.executors.utils import single_nb_execution
from nbformat import NotebookNode

from synthbook.tools.memory import CellPeaks, cpu_build_peak_mb, load_allocation_mb

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
#: Only for the notebooks' kernels: no progress bars in the built pages. In a
#: notebook tqdm draws a widget, and one finished bar made a page load the whole
#: ipywidgets manager (3.7 MB of JavaScript). A reader running a chapter live
#: still gets them, and so does ``prepare`` in the terminal.
KERNEL_ENV = {"TQDM_DISABLE": "1"}


@dataclass
class Run:
    """One notebook executed: its outputs, time, peak memory and any error.

    ``peak_rss_mb`` is the kernel's exact peak resident memory, its shutdown
    included. The other memory figures are ``None`` where they could not be
    measured (no ``/proc``, or a kernel that died before its first cell ended):

    * ``cuda_mb``: the part of the kernel's memory, at its peak with a CPU-only
      torch, that is the CUDA libraries of a CUDA torch build (0 with a
      CPU-only torch);
    * ``cpu_peak_mb``: the peak the kernel would have with a CPU-only torch;
    * ``peak_cell``: the index in ``nb.cells`` of the cell that held the peak;
    * ``cuda_libraries``: the CUDA libraries mapped in the kernel.
    """

    nb: NotebookNode
    seconds: float
    peak_rss_mb: float
    error: str | None = None
    traceback: str | None = None
    cuda_mb: float | None = None
    cpu_peak_mb: float | None = None
    peak_cell: int | None = None
    cuda_libraries: list[str] = field(default_factory=list)


def _peak_child_rss_mb() -> float:
    """Peak resident memory of the largest finished child process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss is in bytes on macOS, in kibibytes on Linux; MB here are 10**6 bytes.
    return (peak if sys.platform == "darwin" else peak * 1024) / 1e6


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def execute_here(
    nb: NotebookNode,
    *,
    timeout: int | None = None,
    allow_errors: bool = False,
    load_allocations: bool = True,
) -> Run:
    """Execute ``nb`` from this process, in a temporary folder; return the run.

    The peak memory reported is that of the largest child this process has
    reaped, so call it in a fresh process (as :func:`run_notebooks` does).
    With ``load_allocations=False`` the CUDA figures leave out what the
    libraries allocate when loaded (:func:`with_load_allocations` adds it
    later, as :func:`run_notebooks` does, probing once for many notebooks).
    """
    start = time.perf_counter()
    peaks = CellPeaks()
    hooks = {"on_cell_execute": peaks.before_cell, "on_cell_executed": peaks.after_cell}
    with tempfile.TemporaryDirectory(prefix="synthbook-run-") as cwd:
        try:
            result = single_nb_execution(
                nb, cwd=cwd, timeout=timeout, allow_errors=allow_errors, **hooks
            )
        except (
            Exception
        ) as err:  # the kernel died (out of memory, say) or never started
            return _run(
                nb,
                time.perf_counter() - start,
                peaks,
                f"{type(err).__name__}: {_first_line(str(err))}",
                traceback.format_exc(),
            )
    error = None
    if result.err is not None:
        ename = getattr(result.err, "ename", "") or type(result.err).__name__
        evalue = getattr(result.err, "evalue", "") or str(result.err)
        error = f"{ename}: {_first_line(evalue)}".rstrip(": ")
    run = _run(result.nb, result.time, peaks, error, result.exc_string)
    return with_load_allocations(run) if load_allocations else run


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Cell tags whose outputs the book does not show (myst-nb removes them).
HIDDEN_OUTPUT_TAGS = {"remove-output", "remove-cell"}
_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")


def prune_widget_state(nb: NotebookNode) -> int:
    """Keep only the saved widget models that a shown output displays; return dropped.

    The kernel saves every widget model alive at the end of the run, also
    those of outputs the book removes (a live-only panel tagged
    ``remove-output``) and those no output displays. The static page would
    carry them for nothing, so keep the models reachable from the widget
    views of shown outputs, following ``IPY_MODEL_`` references; when none is
    left, drop the saved state (the page then loads no widget JavaScript).
    """
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    state = saved.get("state")
    if not state:
        return 0
    stack = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if HIDDEN_OUTPUT_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view and "model_id" in view:
                stack.append(view["model_id"])
    keep: set[str] = set()
    while stack:
        model = stack.pop()
        if model in keep or model not in state:
            continue
        keep.add(model)
        stack.extend(_MODEL_REF.findall(json.dumps(state[model].get("state", {}))))
    dropped = len(state) - len(keep)
    if keep:
        saved["state"] = {key: value for key, value in state.items() if key in keep}
    else:
        del nb.metadata["widgets"][WIDGET_STATE]
        if not nb.metadata["widgets"]:
            del nb.metadata["widgets"]
    return dropped


def _run(
    nb: NotebookNode,
    seconds: float,
    peaks: CellPeaks,
    error: str | None,
    trace: str | None,
) -> Run:
    # Resetting the kernel's high-water mark before each cell also resets what
    # getrusage reports, so the exact peak is the larger of the two.
    peak = max(_peak_child_rss_mb(), peaks.running_peak_mb or 0.0)
    prune_widget_state(nb)
    run = Run(nb, seconds, peak, error, trace, peak_cell=peaks.peak_cell)
    if peaks.cpu_peak_mb is not None and peaks.cuda_file_mb is not None:
        run.cuda_mb, run.cpu_peak_mb = peaks.cuda_file_mb, peaks.cpu_peak_mb
    run.cuda_libraries = sorted(peaks.cuda_paths)
    return run


def with_load_allocations(run: Run) -> Run:
    """Add what ``run.cuda_libraries`` allocate when loaded to its CUDA figures.

    A probe process measures it (:func:`~synthbook.tools.memory.load_allocation_mb`,
    once per set of libraries). If the probe fails, the CUDA and CPU-only
    figures become ``None`` and a warning says why.
    """
    if run.cuda_mb is None:
        return run
    try:
        load = load_allocation_mb(run.cuda_libraries)
    except RuntimeError as err:
        print(
            f"warning: memory with a CPU-only torch not measured: {err}",
            file=sys.stderr,
        )
        load = None
    if load is None:
        run.cuda_mb = run.cpu_peak_mb = None
    else:
        run.cuda_mb += load
        run.cpu_peak_mb = cpu_build_peak_mb(run.cpu_peak_mb, load)
    return run


def _run_in_child(
    nb: NotebookNode, timeout: int | None, allow_errors: bool, folder: Path
) -> Run:
    source, target = folder / "in.ipynb", folder / "out.json"
    nbformat.write(nb, str(source))
    command = [
        sys.executable,
        "-m",
        "synthbook.tools.execution",
        str(source),
        str(target),
    ]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    if allow_errors:
        command.append("--allow-errors")
    start = time.perf_counter()
    child = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **KERNEL_ENV},
    )
    if child.returncode != 0 or not target.exists():
        tail = child.stderr.strip()[-3000:]
        return Run(
            nb,
            time.perf_counter() - start,
            0.0,
            f"the process running the notebook exited with code {child.returncode}: "
            f"{_first_line(tail.splitlines()[-1] if tail else '')}",
            tail,
        )
    data = json.loads(target.read_text(encoding="utf-8"))
    run = Run(
        nbformat.from_dict(data["nb"]),
        data["seconds"],
        data["peak_rss_mb"],
        data["error"],
        data["traceback"],
        data["cuda_mb"],
        data["cpu_peak_mb"],
        data["peak_cell"],
        data["cuda_libraries"],
    )
    return with_load_allocations(run)


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
    deleted afterwards. ``on_done(index, run)`` is called as each one finishes
    (from this thread, one at a time).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    for name, value in THREAD_ENV.items():
        os.environ.setdefault(name, value)
    runs: list[Run | None] = [None] * len(notebooks)
    with (
        tempfile.TemporaryDirectory(prefix="synthbook-notebooks-") as scratch,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        futures = {}
        for index, nb in enumerate(notebooks):
            folder = Path(scratch) / f"{index:03d}"
            folder.mkdir()
            future = pool.submit(_run_in_child, nb, timeout, allow_errors, folder)
            futures[future] = index
        for future in as_completed(futures):
            index = futures[future]
            runs[index] = future.result()
            if on_done is not None:
                on_done(index, runs[index])
    return [run for run in runs if run is not None]


def main(argv: Sequence[str] | None = None) -> int:
    """Execute one notebook file; write the run as JSON (used by run_notebooks)."""
    parser = argparse.ArgumentParser(prog="python -m synthbook.tools.execution")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("result", type=Path)
    parser.add_argument("--timeout", type=int, default=None)
    parser.add_argument("--allow-errors", action="store_true")
    args = parser.parse_args(argv)
    nb = nbformat.read(str(args.notebook), as_version=4)
    run = execute_here(
        nb, timeout=args.timeout, allow_errors=args.allow_errors, load_allocations=False
    )
    record = {
        "nb": run.nb,
        "seconds": run.seconds,
        "peak_rss_mb": run.peak_rss_mb,
        "error": run.error,
        "traceback": run.traceback,
        "cuda_mb": run.cuda_mb,
        "cpu_peak_mb": run.cpu_peak_mb,
        "peak_cell": run.peak_cell,
        "cuda_libraries": run.cuda_libraries,
    }
    args.result.write_text(json.dumps(record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
