"""``bench build``: a cold build of the book, timed chapter by chapter.

Cold means an empty model cache (``SYNTHBOOK_CACHE`` points at a new temporary
folder) and no execution cache (``_build`` goes to another temporary folder),
as on a machine that has never built the book. The benchmark runs what ``make
book`` runs, :func:`synthbook.tools.prepare.prepare` and then every notebook,
:data:`~synthbook.tools.execution.WORKERS` at a time, and prints for each
chapter its execution time and the peak resident memory of its kernel, then the
total. Limits (:data:`CHAPTER_SECONDS`, :data:`PEAK_MB`) are flagged. The load
average is printed with the figures: on a shared machine it says how far to
trust them.
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
#: No kernel should need more than 1 GB (public Binder guarantees 1 GB).
PEAK_MB = 1000.0


def _load() -> str:
    one, five, _ = os.getloadavg()
    return (
        f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"
    )


def _flag(seconds: float | None, peak: float | None) -> str:
    over = []
    if seconds is not None and seconds > CHAPTER_SECONDS:
        over.append(f"over {CHAPTER_SECONDS:.0f} s")
    if peak is not None and peak > PEAK_MB:
        over.append(f"over {PEAK_MB:,.0f} MB")
    return "  <- " + ", ".join(over) if over else ""


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
    print(f"\n{'notebook':{width}}  seconds  peak MB  status")
    for run in runs:
        print(
            f"{run.docname:{width}}  {run.seconds or 0:7.1f}  "
            f"{run.peak_rss_mb or 0:7,.0f}  {run.status}"
            f"{_flag(run.seconds, run.peak_rss_mb)}"
        )
    busy = sum(run.seconds or 0 for run in runs)
    print(
        f"\nprepare {times['prepare']:.0f} s; notebooks {times['execute']:.0f} s wall "
        f"({busy:.0f} s of kernel time, {workers} at a time)"
        + (f"; HTML {times['html']:.0f} s" if "html" in times else "")
    )
    total = times["total"]
    print(f"total {total:.0f} s ({total / 60:.1f} min); {_load()}")
