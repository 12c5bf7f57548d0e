"""Reproducibility: one call that seeds everything and fixes the thread count.

Results are exact for a given seed *and* thread count: the same seed on the same
number of torch threads gives bit-identical models and numbers, but another
thread count may change the last digits (floating-point sums are split
differently), and through training, more. The book's numbers are computed with
one thread (:data:`DEFAULT_THREADS`); set ``SYNTHBOOK_THREADS`` to change it.
"""

from __future__ import annotations

import os
import random
import warnings
from dataclasses import dataclass

import joblib
import numpy as np
import torch

from synthbook.validate import check_count, check_seed

#: The book's numbers are computed with one torch thread per process: the tiny models
#: run as fast on one thread as on two (measured), and two chapters can then run at once.
DEFAULT_THREADS = 1
#: The environment variable that sets the thread count for every chapter and command.
THREADS_VAR = "SYNTHBOOK_THREADS"
#: More threads than this is a typing error, not a machine.
MAX_THREADS = 1024


@dataclass(frozen=True)
class Session:
    """What :func:`setup` chose, so a chapter can print and record it."""

    seed: int
    threads: int
    device: torch.device

    def __str__(self) -> str:
        return (
            f"seed={self.seed}, torch threads={self.threads}, device={self.device.type}"
        )


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global random number generators.

    Parameters
    ----------
    seed : int
        A non-negative integer.
    """
    seed = check_seed("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def available_cpus() -> int:
    """Return how many CPUs this process may actually use.

    Not :func:`os.cpu_count` (every CPU of the machine) but the smallest of the
    CPU affinity mask (:func:`os.sched_getaffinity`, e.g. ``taskset``) and the
    cgroup CPU quota (how Docker, Binder and JupyterHub limit a container),
    as :func:`joblib.cpu_count` computes them.
    """
    return max(1, int(joblib.cpu_count()))


def choose_threads(threads: int | None = None) -> int:
    """Return the number of torch threads to use.

    An explicit argument wins, then the environment variable
    ``SYNTHBOOK_THREADS``, then :data:`DEFAULT_THREADS` (1, what the book's
    numbers are computed with). Asking for more threads than
    :func:`available_cpus` gives a warning: on a small or shared machine extra
    threads wait for each other and run slower, not faster.

    Raises
    ------
    TypeError, ValueError
        For a thread count that is not a whole number from 1 to
        :data:`MAX_THREADS`; a bad ``SYNTHBOOK_THREADS`` is named in the message.
    """
    if threads is None:
        env = os.environ.get(THREADS_VAR, "").strip()
        if not env:
            return DEFAULT_THREADS
        try:
            chosen = check_count(THREADS_VAR, int(env), minimum=1, maximum=MAX_THREADS)
        except ValueError as err:
            raise ValueError(
                f"{THREADS_VAR} must be a whole number of threads from 1 to "
                f"{MAX_THREADS:,}, got {env!r}; set it to 1 (what the book uses) "
                f"or unset it"
            ) from err
        source = f"{THREADS_VAR}={env}"
    else:
        chosen = check_count("threads", threads, minimum=1, maximum=MAX_THREADS)
        source = f"threads={chosen}"
    usable = available_cpus()
    if chosen > usable:
        warnings.warn(
            f"{source} asks for {chosen} torch threads, but this process may use "
            f"only {usable} CPU(s) (CPU affinity and cgroup quota); extra threads "
            f"make torch slower, not faster. Use at most {usable} (the book's "
            f"numbers use {DEFAULT_THREADS}).",
            stacklevel=2,
        )
    return chosen


def setup(
    seed: int = 0, threads: int | None = None, *, verbose: bool = True
) -> Session:
    """Seed every generator, fix torch's thread count and pick a device.

    Call this once at the top of each chapter. The device is CUDA when a GPU is
    present and CPU otherwise; every experiment in the book is sized for a CPU.

    Parameters
    ----------
    seed : int, default 0
        Seed for Python, NumPy and torch.
    threads : int, optional
        Intra-op threads for torch; see :func:`choose_threads`. Results are
        exact per thread count; the book's numbers use 1.
    verbose : bool, default True
        Print what was chosen.

    Returns
    -------
    Session
        The seed, thread count and device.
    """
    seed = check_seed("seed", seed)
    n_threads = choose_threads(threads)
    seed_everything(seed)
    torch.set_num_threads(n_threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    session = Session(seed=seed, threads=n_threads, device=device)
    if verbose:
        print(f"synthbook setup: {session}")
    return session


def hide_progress(progress: bool) -> bool:
    """Return tqdm's ``disable`` for a function called with ``progress``.

    Off when the caller asks for no progress, or when ``TQDM_DISABLE`` is set
    (the book's build sets it for its kernels, so that no finished bar is saved
    into a page). tqdm reads that variable only as a default, which an explicit
    ``disable=False`` overrides, hence this helper.
    """
    flag = os.environ.get("TQDM_DISABLE", "").strip().lower()
    return not progress or flag not in ("", "0", "false", "no")
