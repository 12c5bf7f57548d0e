"""Reproducibility: one call that seeds everything and fixes the thread count."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

#: The book's numbers are computed with one torch thread per process: the tiny models
#: run as fast on one thread as on two (measured), and two chapters can then run at once.
DEFAULT_THREADS = 1


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
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def choose_threads(threads: int | None = None) -> int:
    """Return the number of torch threads to use.

    An explicit argument wins, then the environment variable
    ``SYNTHBOOK_THREADS``, then ``min(2, cpu count)``. Two threads is what the
    book is timed with: on a small shared machine more threads than cores
    oversubscribe and run slower, not faster.
    """
    if threads is None:
        env = os.environ.get("SYNTHBOOK_THREADS", "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError as err:
                raise ValueError(
                    f"SYNTHBOOK_THREADS must be a whole number, got {env!r}"
                ) from err
        else:
            threads = min(DEFAULT_THREADS, os.cpu_count() or 1)
    if threads < 1:
        raise ValueError(f"the thread count must be at least 1, got {threads}")
    return threads


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
        Intra-op threads for torch; see :func:`choose_threads`.
    verbose : bool, default True
        Print what was chosen.

    Returns
    -------
    Session
        The seed, thread count and device.
    """
    seed_everything(seed)
    n_threads = choose_threads(threads)
    torch.set_num_threads(n_threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    session = Session(seed=seed, threads=n_threads, device=device)
    if verbose:
        print(f"synthbook setup: {session}")
    return session
