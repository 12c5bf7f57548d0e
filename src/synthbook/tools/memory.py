"""A kernel's peak memory, cell by cell, and the part of it that is CUDA libraries.

PyPI's Linux ``torch`` wheel is a CUDA build: ``import torch`` loads
``libtorch_cuda`` and the ``nvidia/*`` libraries (cuBLAS, cuDNN, NVRTC, ...),
and the first optimizer loads ``triton``, even on a machine without a GPU.
Binder and the conda environment install a CPU-only torch, which loads none of
them, so a kernel's peak measured here overstates what a reader's kernel needs
there. :class:`CellPeaks` measures, from the kernel's parent, between cells:

* the kernel's **exact peak resident memory during each cell**: it resets the
  kernel's high-water mark before the cell (``/proc/<pid>/clear_refs``) and
  reads it after (``VmHWM`` in ``/proc/<pid>/status``);
* the **file-backed pages of the CUDA libraries** resident in the kernel after
  the cells that may hold the peak (``/proc/<pid>/smaps``). They are mapped
  when torch (or triton) is imported and only grow while cells run, so the
  figure after a cell is at least the one at the moment of its peak;
* the **memory those libraries allocate when loaded** (cuBLASLt alone keeps
  about 90 MB), which ``smaps`` cannot tell from the kernel's own: the libraries
  seen are loaded in a probe process (:func:`load_allocation_mb`).

The peak with a CPU-only torch is the largest, over cells, of the cell's peak
less the CUDA libraries' memory (their pages after that cell and what they
allocate when loaded). It leaves out the
kernel's shutdown, when the CUDA libraries' destructors fault in another 100 MB
or more of their pages. Only Linux has these files: elsewhere nothing is
measured and the figures are ``None``.

The figure errs high. Against torch 2.13.0+cpu (all other packages the same),
PyPI's torch 2.14.1+cu130 gave CPU-only figures 79 to 145 MB above the peaks
measured with the CPU-only torch for the 13 book notebooks that ran with both
(mean +108 MB): torch's own CPU library keeps about twice as many pages
resident in the CUDA build, which ``smaps`` cannot tell from what a CPU-only
build would need. ``python -m synthbook bench memory`` with
``SYNTHBOOK_CPU_PYTHON`` set repeats that comparison.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

MB = 1e6  # MB here are 10**6 bytes, as in the build's peak figures

#: Libraries that only a CUDA build of torch loads (by file name; the wheels put
#: them under ``site-packages/nvidia``, ``site-packages/cuda``, ``triton`` and
#: ``torch/lib``).
_CUDA_NAME = re.compile(
    r"^lib(?:torch_cuda|c10_cuda|caffe2_nvrtc|torch_nvshmem|cublas|cublasLt|cudart"
    r"|cudnn|cufft|cufile|cupti|curand|cusolver|cusparse|cusparseLt|nccl|nvJitLink"
    r"|nvrtc|nvshmem|nvToolsExt|nvperf|triton|proton)(?:[._-].*)?\.so(?:\.[0-9.]+)?$"
)
_CUDA_FOLDER = re.compile(r"/site-packages/(?:nvidia|cuda|triton)/")
#: torch's own CUDA libraries need its CPU ones, which a CPU-only build has too:
#: the probe loads those first and does not count them.
_TORCH_OWN = re.compile(r"^lib(?:torch|c10|caffe2)_")
_TORCH_CPU_LIBRARIES = ("libc10.so", "libtorch_cpu.so")
_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def is_cuda_library(path: str) -> bool:
    """Return whether ``path`` is a shared library that only a CUDA torch loads."""
    if _CUDA_FOLDER.search(path) and ".so" in path:
        return True
    return bool(_CUDA_NAME.match(os.path.basename(path)))


def cuda_library_pages(pid: int | str = "self") -> tuple[int, set[str]]:
    """Return the CUDA libraries' file-backed resident bytes in process ``pid``.

    Reads ``/proc/<pid>/smaps``: for every mapping of a library that
    :func:`is_cuda_library` accepts, its resident size less its anonymous
    (copy-on-write) part. Also returns the paths of those libraries.

    Raises
    ------
    OSError
        If the process is gone or its ``smaps`` cannot be read.
    """
    total, paths = 0, set()
    counting = False
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            if _HEADER.match(line):
                fields = line.split(maxsplit=5)
                path = fields[5].strip() if len(fields) > 5 else ""
                counting = bool(path) and is_cuda_library(path)
                if counting:
                    paths.add(path)
            elif counting and line.startswith("Rss:"):
                total += int(line.split()[1]) * 1024
            elif counting and line.startswith("Anonymous:"):
                total -= int(line.split()[1]) * 1024
    return total, paths


def high_water_mark(pid: int | str = "self") -> int:
    """Return process ``pid``'s peak resident bytes since its last reset (``VmHWM``)."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError(f"/proc/{pid}/status has no VmHWM line")


def reset_high_water_mark(pid: int | str = "self") -> None:
    """Set process ``pid``'s peak resident memory to its current resident memory."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")


def descendants(pid: int) -> list[int]:
    """Return the ids of the living descendants of process ``pid`` (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text(encoding="utf-8")
        except OSError:  # gone meanwhile
            continue
        # The command name (field 2) may hold spaces: the parent id follows ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        born = children.get(todo.pop(), [])
        found += born
        todo += born
    return found


class CellPeaks:
    """Measure a kernel's memory between its cells, from the kernel's parent.

    Pass :meth:`before_cell` and :meth:`after_cell` to nbclient as its
    ``on_cell_execute`` and ``on_cell_executed`` hooks. The kernel is the
    largest descendant of this process (nbclient starts it, perhaps through a
    wrapper that a kernel spec names).

    Attributes (``None`` until a cell has run, and where ``/proc`` is missing)
    ----------
    running_peak_mb : float
        The largest peak of any cell (the kernel's shutdown is not included).
    cpu_peak_mb : float
        The largest, over cells, of the cell's peak less the CUDA libraries'
        file-backed pages after it (the load-time allocations are subtracted
        by :func:`cpu_build_peak_mb`).
    cuda_file_mb : float
        The CUDA library pages subtracted for that cell.
    cuda_paths : set of str
        The CUDA libraries mapped in the kernel after that cell.
    peak_cell, cpu_peak_cell : int
        Indices (in ``nb.cells``) of the cells that reached the two peaks (a
        later cell that only holds the memory, within 1 MB, does not count).
    """

    def __init__(self, parent: int | None = None) -> None:
        self.parent = os.getpid() if parent is None else parent
        self.enabled = os.path.isdir("/proc/self")
        self.running_peak_mb: float | None = None
        self.cpu_peak_mb: float | None = None
        self.cuda_file_mb: float | None = None
        self.cuda_paths: set[str] = set()
        self.peak_cell: int | None = None
        self.cpu_peak_cell: int | None = None
        self._pid: int | None = None
        self._known_cuda = 0  # bytes: a lower bound for any later cell

    def _kernel(self) -> int | None:
        if self._pid is None or not os.path.exists(f"/proc/{self._pid}"):
            pids = descendants(self.parent)
            if not pids:
                return None
            self._pid = max(pids, key=lambda pid: _resident(pid))
        return self._pid

    def before_cell(self, **_: Any) -> None:
        """Reset the kernel's peak (nbclient's ``on_cell_execute`` hook)."""
        pid = self._kernel() if self.enabled else None
        if pid is not None:
            try:
                reset_high_water_mark(pid)
            except OSError:  # the kernel died: the run reports it
                self._pid = None

    def after_cell(self, cell_index: int, **_: Any) -> None:
        """Read the cell's peak (nbclient's ``on_cell_executed`` hook)."""
        pid = self._kernel() if self.enabled else None
        if pid is None:
            return
        try:
            peak = high_water_mark(pid)
            if self.running_peak_mb is None or peak / MB > self.running_peak_mb:
                if self.running_peak_mb is None or peak / MB > self.running_peak_mb + 1:
                    self.peak_cell = cell_index  # (not a cell that merely holds it)
                self.running_peak_mb = peak / MB
            # The library pages only grow: the last reading bounds this cell's from
            # below, so smaps (about 50 ms) is read only when the cell may hold the peak.
            best = -1.0 if self.cpu_peak_mb is None else self.cpu_peak_mb
            if (peak - self._known_cuda) / MB <= best:
                return
            pages, paths = cuda_library_pages(pid)
        except OSError:
            self._pid = None
            return
        self._known_cuda = max(self._known_cuda, pages)
        if (peak - pages) / MB > best:
            if (peak - pages) / MB > best + 1:
                self.cpu_peak_cell = cell_index
            self.cpu_peak_mb = (peak - pages) / MB
            self.cuda_file_mb = pages / MB
            self.cuda_paths = paths


def _resident(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1])
    except OSError:
        return -1


# What the CUDA libraries allocate when they are loaded -----------------------------------

_PROBE = r"""
import ctypes, json, sys
def anon():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
def load(paths):
    # Passes until nothing more loads: a library may need another one first.
    todo, errors = list(paths), {}
    while todo:
        failed = []
        for path in todo:
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError as err:
                failed.append(path)
                errors[path] = str(err)
        if len(failed) == len(todo):
            return {path: errors[path] for path in failed}
        todo = failed
    return {}
cpu, torch_cuda, others = json.loads(sys.argv[1])
start = anon()
failed = load(others)
middle = anon()
failed.update(load(cpu))
before = anon()
failed.update(load(torch_cuda))
end = anon()
print(json.dumps({"bytes": (middle - start) + (end - before), "failed": failed}))
"""


@lru_cache(maxsize=8)
def _probe(python: str, paths: tuple[str, ...]) -> float:
    torch_cuda = [p for p in paths if _TORCH_OWN.match(os.path.basename(p))]
    others = [p for p in paths if p not in torch_cuda]
    cpu = sorted(
        {
            str(Path(p).parent / name)
            for p in torch_cuda
            for name in _TORCH_CPU_LIBRARIES
            if (Path(p).parent / name).is_file()
        }
    )
    child = subprocess.run(
        [python, "-c", _PROBE, json.dumps([cpu, torch_cuda, others])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(
            f"the probe that loads the CUDA libraries failed (exit status "
            f"{child.returncode}): {child.stderr.strip()[-500:]}"
        )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise RuntimeError(
            "the probe could not load "
            + "; ".join(f"{path} ({error})" for path, error in result["failed"].items())
        )
    return max(0.0, result["bytes"] / MB)


_LOCK = threading.Lock()


def load_allocation_mb(paths: Iterable[str], python: str | None = None) -> float | None:
    """Return the anonymous memory the CUDA libraries ``paths`` allocate when loaded.

    A fresh process of ``python`` (default: this interpreter) loads them with
    ``ctypes`` and measures its anonymous resident memory before and after;
    torch's own CPU libraries (``libc10``, ``libtorch_cpu``) are loaded first
    and not counted, since a CPU-only build has them too. Measured once per set
    of libraries. No libraries: 0. Without ``/proc``: ``None``.

    Raises
    ------
    RuntimeError
        If the probe process fails or cannot load one of the libraries.
    """
    paths = tuple(sorted(set(paths)))
    if not paths:
        return 0.0
    if not os.path.isdir("/proc/self"):
        return None
    with _LOCK:
        return _probe(python or sys.executable, paths)


def cpu_build_peak_mb(
    cell_peak_mb: float | None, load_mb: float | None
) -> float | None:
    """Return the peak a CPU-only torch would have, or ``None`` if not measured.

    ``cell_peak_mb`` is :attr:`CellPeaks.cpu_peak_mb` (the largest cell peak less
    the CUDA library pages), ``load_mb`` what :func:`load_allocation_mb` returned.
    """
    if cell_peak_mb is None or load_mb is None:
        return None
    return cell_peak_mb - load_mb
