"""``bench classroom``: what one learner's session costs, alone and K at a time.

A class on a JupyterHub is many sessions on shared nodes, each a Jupyter server
with a kernel. This benchmark measures, on this machine, against a model cache
prepared as the session image prepares it (``postBuild``: ``prepare``, then every
chapter and exercise once with :func:`synthbook.tools.sessions.warm`), in a new
temporary cache unless ``cache=`` names one:

1. **first figure**: for each chapter, the time from starting a kernel to the
   first figure it draws, one chapter at a time;
2. **sessions**: each exercise notebook (solutions: every task answered) alone,
   then K sessions at once (K = 1, 2, 4, 8) of the notebook whose kernel needed
   the most memory alone. Each session runs in a fresh process whose only child
   is its kernel, so the kernel's peak resident memory is exact (``getrusage``),
   with its CPU time and wall time;
3. **server**: the peak resident memory of a JupyterLab server that has opened
   a chapter, the other half of a session.

Learners' sessions (Binder, a hub image built from ``environment.yml``) run a
CPU-only PyTorch; PyPI's Linux wheel is a CUDA build whose libraries add about
500 MB to every kernel. With ``SYNTHBOOK_CPU_PYTHON`` set to a Python that has
a CPU-only torch and the book's dependencies, every kernel (and ``prepare``)
runs in that Python, and each session's CPU-only peak is measured. Without it,
kernels run in this Python, and where its torch is a CUDA build each session's
CPU-only peak is derived from the CUDA libraries' part of its memory
(:mod:`synthbook.tools.memory`; it errs about 100 MB high). The results say
which (``"cpu_only_peak"``), and the Helm memory is sized from the CPU-only
peaks.

It prints the figures with the load average and writes them, with the Helm
resources they imply (:func:`recommend`), to :data:`RESULTS`, which
``book/teaching_a_class.md`` and ``deploy/values.yaml`` (checked by
``tests/test_deploy.py``) use.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from synthbook.tools.exercises import find_root
from synthbook.tools.sessions import (
    THREAD_ENV,
    Session,
    chapters,
    exercises,
    first_figure,
    in_fresh_processes,
    run_session,
    warm,
)

#: Sessions at once.
SESSIONS = (1, 2, 4, 8)
#: The book's budget per kernel (public Binder guarantees 1 GB).
PEAK_MB = 1000.0
#: Where the measured figures are kept (package data, so pages can read them).
RESULTS = Path(__file__).with_name("classroom.json")
#: Memory requests are rounded up to a multiple of this (MB = 10**6 bytes).
ROUND_MB = 64
#: A Python with a CPU-only torch to run the kernels in (see the module's text).
CPU_PYTHON = "SYNTHBOOK_CPU_PYTHON"
_TORCH_BUILD = (
    "import json, sys, torch; print(json.dumps({'python': sys.executable, "
    "'torch': torch.__version__, 'cuda': torch.version.cuda}))"
)


def _load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1min": one, "5min": five, "15min": fifteen}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_rss_mb(chapter: Path | None = None, timeout: float = 120.0) -> float:
    """Return the peak resident memory of a JupyterLab server on the loopback.

    The server is started in an empty folder; with ``chapter``, it first opens a
    copy of that chapter as a notebook (through jupytext), as a learner does.
    """
    port, token = _free_port(), "synthbook-bench"
    with tempfile.TemporaryDirectory(prefix="synthbook-lab-") as root:
        if chapter is not None:
            (Path(root) / chapter.name).write_text(chapter.read_text())
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1"]
            + [f"--port={port}", f"--IdentityProvider.token={token}"]
            + [f"--ServerApp.root_dir={root}"]
            + (["--allow-root"] if os.geteuid() == 0 else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/api/status?token={token}"
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=5):
                        break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("JupyterLab did not start") from None
                    time.sleep(0.5)
            if chapter is not None:
                opened = f"http://127.0.0.1:{port}/api/contents/{chapter.name}"
                query = f"?type=notebook&content=1&token={token}"
                with urllib.request.urlopen(opened + query, timeout=60) as reply:
                    reply.read()
            time.sleep(2.0)  # let it settle
            status = Path(f"/proc/{server.pid}/status").read_text()
            kib = next(int(x.split()[1]) for x in status.splitlines() if "VmHWM" in x)
            return kib * 1024 / 1e6
        finally:
            server.terminate()
            server.wait(timeout=30)


def _chosen(path: Path, only: Sequence[str]) -> bool:
    return not only or any(part in path.name for part in only)


def _prepare(cache: Path, python: str) -> float:
    start = time.perf_counter()
    env = {**os.environ, **THREAD_ENV, "SYNTHBOOK_CACHE": str(cache)}
    subprocess.run(
        [python, "-m", "synthbook", "prepare", "--quiet"], env=env, check=True
    )
    return time.perf_counter() - start


def kernel_python() -> str:
    """Return the Python the kernels run in: ``SYNTHBOOK_CPU_PYTHON`` or this one.

    Raises
    ------
    ValueError
        If ``SYNTHBOOK_CPU_PYTHON`` is set but names no executable file.
    """
    python = os.environ.get(CPU_PYTHON)
    if not python:
        return sys.executable
    if not os.access(python, os.X_OK):
        raise ValueError(
            f"{CPU_PYTHON}={python!r} is not an executable file: set it to the "
            "python of an environment with a CPU-only torch, or unset it"
        )
    return python


def torch_build(python: str) -> dict[str, Any]:
    """``{"python", "torch", "cuda"}`` of ``python``'s torch (``cuda`` None: CPU-only)."""
    out = subprocess.run(
        [python, "-c", _TORCH_BUILD], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _kernel_spec(folder: Path, python: str) -> None:
    """Write a ``python3`` kernel spec that runs ``python`` (for JUPYTER_PATH)."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
    )


def sizing_peak(session: dict[str, Any]) -> float:
    """Return a session's peak with a CPU-only torch, else its peak here (MB)."""
    cpu = session.get("cpu_peak_mb")
    return session["peak_rss_mb"] if cpu is None else cpu


def recommend(results: dict[str, Any]) -> dict[str, Any]:
    """Helm resources for one learner, from the measured figures.

    Memory guarantee: the largest kernel peak of any session with a CPU-only
    torch (:func:`sizing_peak`: what learners' sessions run) plus the idle
    server, rounded up to :data:`ROUND_MB`. Memory limit: the book's budget
    (1 GB) unless the guarantee needs more. CPU limit: the most cores one
    session used alone, rounded up (a kernel runs one thread). CPU guarantee:
    the share of this machine's cores each session had at the largest K.
    """
    sessions = [s for s in results["sessions"] if s["error"] is None]
    peak = max(sizing_peak(s) for s in sessions)
    need = math.ceil((peak + results["server_rss_mb"]) / ROUND_MB) * ROUND_MB
    alone = [s for s in sessions if s["at_once"] == 1]
    cores_alone = max(s["cpu_seconds"] / s["seconds"] for s in alone)
    largest = max(s["at_once"] for s in sessions)
    return {
        "memory_guarantee": f"{need}M",
        "memory_limit": f"{max(need, int(PEAK_MB))}M",
        "cpu_guarantee": round(results["cpus"] / largest, 3),
        "cpu_limit": float(math.ceil(cores_alone - 0.05)),
    }


def _print_sessions(sessions: list[Session]) -> None:
    for s in sessions:
        cpu = s.peak_rss_mb if s.cpu_peak_mb is None else s.cpu_peak_mb
        flag = "  <- over 1 GB" if cpu > PEAK_MB else ""
        flag += f"  <- failed: {s.error}" if s.error else ""
        shown = "     -" if s.cpu_peak_mb is None else f"{s.cpu_peak_mb:6.0f}"
        print(
            f"  {s.notebook:34} x{s.at_once}: {s.seconds:6.1f} s wall, "
            f"{s.cpu_seconds:6.1f} s CPU, peak {s.peak_rss_mb:6.0f} MB "
            f"(CPU-only torch {shown} MB){flag}"
        )


def bench_classroom(
    *,
    sessions: Sequence[int] = SESSIONS,
    cache: str | Path | None = None,
    root: str | Path | None = None,
    out: str | Path | None = RESULTS,
    only: Sequence[str] = (),
    seconds: float | None = None,
) -> dict[str, Any]:
    """Measure first figures, sessions alone and K at once; print and save them.

    Parameters
    ----------
    sessions : sequence of int
        The numbers of sessions run at once (default 1, 2, 4, 8).
    cache : path, optional
        A model cache to use (and fill); default: a new temporary folder, so the
        figures are those of a freshly built session image.
    root : path, optional
        The repository (default: found from the current folder).
    out : path or None
        Where to write the results (default :data:`RESULTS`; None: nowhere).
    only : sequence of str
        Measure only chapters and exercises whose file name contains one of
        these (for a quick look; the saved figures should cover everything).
    seconds : float, optional
        Ignored (the ``bench`` command's training budget does not apply).
    """
    if any(k < 1 for k in sessions) or 1 not in sessions:
        raise ValueError(
            f"sessions must be whole numbers >= 1 and include 1: {sessions}"
        )
    base = find_root(root)
    python = kernel_python()
    build = torch_build(python)
    previous = os.environ.get("JUPYTER_PATH")
    try:
        results = _measure(base, python, build, sessions, cache, only)
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = previous
    results["recommended"] = recommend(results)
    print("Helm resources per learner:", results["recommended"])
    if out is not None:
        Path(out).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(f"wrote {out}")
    return results


def _measure(
    base: Path,
    python: str,
    build: dict[str, Any],
    sessions: Sequence[int],
    cache: str | Path | None,
    only: Sequence[str],
) -> dict[str, Any]:
    previous = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory(prefix="synthbook-classroom-") as tmp:
        folder = Path(cache) if cache is not None else Path(tmp) / "cache"
        os.environ["SYNTHBOOK_CACHE"] = str(folder)
        if python != sys.executable:
            _kernel_spec(Path(tmp) / "jupyter", python)
            os.environ["JUPYTER_PATH"] = os.pathsep.join(
                filter(None, [str(Path(tmp) / "jupyter"), previous])
            )
        results: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "load_before": _load(),
            "kernel_torch": build,
            # CPU-only peaks: measured when the kernels' torch is CPU-only.
            "cpu_only_peak": "derived" if build["cuda"] else "measured",
        }
        print(f"cache {folder}; {os.cpu_count()} CPUs, load {results['load_before']}")
        print(f"kernels: {python}, torch {build['torch']} (CUDA {build['cuda']})")
        results["prepare_seconds"] = _prepare(folder, python)
        print(f"prepare: {results['prepare_seconds']:.0f} s")

        pages = [p for p in chapters(base) if _chosen(p, only)]
        notebooks = [p for p in exercises(base) if _chosen(p, only)]
        # As postBuild does: every chapter and exercise once, into the cache.
        warmed = warm(pages + notebooks)
        results["warm_seconds"] = sum(s.seconds for s in warmed)
        print(f"every chapter and exercise once: {results['warm_seconds']:.0f} s")
        _print_sessions([s for s in warmed if s.error])

        firsts = [in_fresh_processes(first_figure, [str(c)], 1)[0] for c in pages]
        print("kernel start to first figure, prepared cache:")
        for f in firsts:
            tail = f"  <- {f.error}" if f.error else ""
            print(f"  {f.chapter:34} {f.seconds:6.1f} s ({f.cells} cells){tail}")

        alone = [
            in_fresh_processes(run_session, [(str(nb), 1)], 1)[0] for nb in notebooks
        ]
        print("each exercise alone (solutions):")
        _print_sessions(alone)
        heaviest = max(  # with a CPU-only torch, as learners run it
            alone,
            key=lambda s: s.peak_rss_mb if s.cpu_peak_mb is None else s.cpu_peak_mb,
        )
        chosen = next(str(nb) for nb in notebooks if nb.stem == heaviest.notebook)
        crowd: list[Session] = []
        for k in sorted(set(sessions) - {1}):
            runs = in_fresh_processes(run_session, [(chosen, k)] * k, k)
            crowd += runs
            print(f"{k} sessions at once of {heaviest.notebook} (load {_load()}):")
            _print_sessions(runs)
        results["server_rss_mb"] = server_rss_mb(pages[0] if pages else None)
        print(
            f"JupyterLab server with a chapter open: {results['server_rss_mb']:.0f} MB"
        )
    results.update(
        load_after=_load(),
        warm=[asdict(s) for s in warmed],
        first_figure=[asdict(f) for f in firsts],
        crowd_notebook=heaviest.notebook,
        sessions=[asdict(s) for s in alone + crowd],
    )
    return results


def load_results(path: str | Path = RESULTS) -> dict[str, Any]:
    """Read the figures the last ``bench classroom`` wrote."""
    return json.loads(Path(path).read_text())


def summary(results: dict[str, Any]) -> dict[int, dict[str, float]]:
    """Per K: largest kernel peaks (MB), median and longest wall time (s).

    ``peak_mb`` is the peak here, ``cpu_peak_mb`` with a CPU-only torch
    (:func:`sizing_peak`).
    """
    by_k: dict[int, list[dict[str, Any]]] = {}
    for s in results["sessions"]:
        if s["at_once"] == 1 and s["notebook"] != results["crowd_notebook"]:
            continue
        by_k.setdefault(s["at_once"], []).append(s)
    return {
        k: {
            "peak_mb": max(s["peak_rss_mb"] for s in runs),
            "cpu_peak_mb": max(sizing_peak(s) for s in runs),
            "median_s": statistics.median(s["seconds"] for s in runs),
            "max_s": max(s["seconds"] for s in runs),
        }
        for k, runs in sorted(by_k.items())
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m synthbook.tools.bench.classroom [--sessions K ...] [--cache DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m synthbook.tools.bench.classroom",
        description="Learner sessions alone and K at a time (python -m synthbook "
        "bench classroom runs it with the defaults).",
    )
    parser.add_argument("--sessions", type=int, nargs="+", default=list(SESSIONS))
    parser.add_argument("--cache", default=None, help="model cache (default: new)")
    parser.add_argument("--only", nargs="+", default=(), help="file name parts")
    parser.add_argument(
        "--out", default=str(RESULTS), help="results JSON ('-': do not write)"
    )
    args = parser.parse_args(argv)
    bench_classroom(
        sessions=args.sessions,
        cache=args.cache,
        only=args.only,
        out=None if args.out == "-" else args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
