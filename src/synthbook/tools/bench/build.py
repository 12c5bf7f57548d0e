"""``bench build``: a cold build of the book, timed chapter by chapter.

Cold means an empty model cache (``SYNTHBOOK_CACHE`` points at a new temporary
folder) and no execution cache (``_build`` goes to another temporary folder),
as on a machine that has never built the book. The benchmark runs what ``make
book`` runs, :func:`synthbook.tools.prepare.prepare` and then every notebook,
:data:`~synthbook.tools.execution.WORKERS` at a time, and prints for each
chapter its execution time, the peak resident memory of its kernel here, the
part of it that is the CUDA libraries of PyPI's torch, the peak the kernel
would have with a CPU-only torch (as on Binder; see
:mod:`synthbook.tools.memory`) and the cell that held it, then the total.
Limits (:data:`CHAPTER_SECONDS`, :data:`CPU_PEAK_MB`, :data:`PEAK_MB`) are
flagged. The load average is printed with the figures: on a shared machine it
says how far to trust them.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from jupyter_cache import get_cache

from synthbook.tools import build
from synthbook.tools.exercises import find_root
from synthbook.tools.prepare import prepare

#: A chapter should execute within three minutes, cold, after ``prepare``.
CHAPTER_SECONDS = 180.0
#: No kernel should need more than 1 GB on Binder (public Binder guarantees 1 GB),
#: where torch is a CPU-only build: the limit applies to the CPU-only figure.
CPU_PEAK_MB = 1000.0
#: Nor more than 1.5 GB here, with PyPI's CUDA build of torch.
PEAK_MB = 1500.0
EXPLANATION = (
    "peak: the kernel's highest resident memory here; CUDA: the part of it that "
    "is the CUDA libraries PyPI's torch loads without a GPU (their pages in the "
    "kernel plus what they allocate when loaded); CPU torch: the highest memory "
    "of any cell less the CUDA part: an estimate, on the high side, of what the "
    "kernel needs with a CPU-only torch, as on Binder"
)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return (
        f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"
    )


def _flag(run: build.Execution) -> str:
    over = []
    if run.seconds is not None and run.seconds > CHAPTER_SECONDS:
        over.append(f"over {CHAPTER_SECONDS:.0f} s")
    if run.cpu_peak_mb is not None and run.cpu_peak_mb > CPU_PEAK_MB:
        over.append(f"over {CPU_PEAK_MB:,.0f} MB with CPU-only torch")
    if run.peak_rss_mb is not None and run.peak_rss_mb > PEAK_MB:
        over.append(f"over {PEAK_MB:,.0f} MB here")
    return "  <- " + ", ".join(over) if over else ""


def _mb(value: float | None) -> str:
    return "      -" if value is None else f"{value:7,.0f}"


def bench_build(
    root: str | Path | None = None,
    *,
    workers: int = build.WORKERS,
    html: bool = True,
    seconds: float | None = None,
) -> list[build.Execution]:
    """Build the book cold in temporary folders; print what each chapter took.

    Parameters
    ----------
    root : path, optional
        The book (default: found from the current folder).
    workers : int, default 2
        Notebooks executed at once, as ``make book`` does.
    html : bool, default True
        Also time Jupyter Book's HTML build from the fresh execution cache.
    seconds : None
        Not used (the build has no time budget); must be left out.

    Returns
    -------
    list of Execution
        One per notebook, in the order of the table of contents.
    """
    if seconds is not None:
        raise ValueError("bench build has no time budget: leave out --seconds")
    book = find_root(root)
    for name, value in build.THREAD_ENV.items():
        os.environ.setdefault(name, value)
    print(f"cold build of {book}, {workers} notebooks at a time; {_load()}")
    previous_cache = os.environ.get("SYNTHBOOK_CACHE")
    with tempfile.TemporaryDirectory(prefix="synthbook-bench-") as folder:
        os.environ["SYNTHBOOK_CACHE"] = str(Path(folder) / "models")
        try:
            runs, notebooks, times = _cold_build(book, Path(folder), workers, html)
        finally:
            if previous_cache is None:
                os.environ.pop("SYNTHBOOK_CACHE", None)
            else:
                os.environ["SYNTHBOOK_CACHE"] = previous_cache
    _print(runs, notebooks, times, workers)
    return runs


def _cold_build(
    book: Path, folder: Path, workers: int, html: bool
) -> tuple[list[build.Execution], list[build.Notebook], dict[str, float]]:
    """Run prepare, every notebook and (optionally) the HTML; return runs and times."""
    start = time.perf_counter()
    for item in prepare(workers=workers, progress=False):
        print(
            f"prepare  {item.name}: {item.seconds:6.1f} s, peak {item.peak_rss_mb:,.0f} MB"
        )
    times = {"prepare": time.perf_counter() - start}
    notebooks = build.book_notebooks(book)
    cache = get_cache(str(folder / "_build" / ".jupyter_cache"))
    _, to_run = build.plan(cache, notebooks)
    timeout = build.execution_config(book).get("timeout")
    runs = build.execute(cache, to_run, workers=workers, timeout=timeout)
    times["execute"] = time.perf_counter() - start - times["prepare"]
    if html and not any(run.status == "failed" for run in runs):
        html_start = time.perf_counter()
        build.run_jupyter_book(book, output=folder)
        times["html"] = time.perf_counter() - html_start
    times["total"] = time.perf_counter() - start
    return runs, notebooks, times


def _print(
    runs: list[build.Execution],
    notebooks: list[build.Notebook],
    times: dict[str, float],
    workers: int,
) -> None:
    order = {nb.docname: i for i, nb in enumerate(notebooks)}
    runs.sort(key=lambda run: order[run.docname])
    width = max(len(run.docname) for run in runs)
    print(
        f"\n{'notebook':{width}}  seconds  peak MB     CUDA  CPU torch  status"
        "  (peak cell)"
    )
    for run in runs:
        print(
            f"{run.docname:{width}}  {run.seconds or 0:7.1f}  "
            f"{_mb(run.peak_rss_mb)}  {_mb(run.cuda_mb)}  {_mb(run.cpu_peak_mb)}    "
            f"{run.status}{_flag(run)}"
            + (f"  ({run.peak_cell})" if run.peak_cell else "")
        )
    print(f"MB are 10**6 bytes. {EXPLANATION}.")
    busy = sum(run.seconds or 0 for run in runs)
    print(
        f"\nprepare {times['prepare']:.0f} s; notebooks {times['execute']:.0f} s wall "
        f"({busy:.0f} s of kernel time, {workers} at a time)"
        + (f"; HTML {times['html']:.0f} s" if "html" in times else "")
    )
    total = times["total"]
    print(f"total {total:.0f} s ({total / 60:.1f} min); {_load()}")
