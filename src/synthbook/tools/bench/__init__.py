"""Benchmarks that print numbers: ``python -m synthbook bench NAME``.

Timings are only comparable within one run on one machine, so each benchmark
runs its baseline in the same process, with the same budget, and prints ratios.
One module per benchmark; :data:`BENCHMARKS` names them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthbook.tools.bench.browser import bench_browser
from synthbook.tools.bench.build import bench_build
from synthbook.tools.bench.classroom import bench_classroom
from synthbook.tools.bench.gan import bench_gan
from synthbook.tools.bench.memory import bench_memory
from synthbook.tools.bench.privacy import bench_privacy
from synthbook.tools.bench.tails import bench_tails

BENCHMARKS: dict[str, Callable[..., Any]] = {
    "browser": bench_browser,
    "build": bench_build,
    "classroom": bench_classroom,
    "gan": bench_gan,
    "memory": bench_memory,
    "tails": bench_tails,
    "privacy": bench_privacy,
}


def run(name: str, **kwargs: Any) -> Any:
    """Run the benchmark ``name`` (see :data:`BENCHMARKS`)."""
    if name not in BENCHMARKS:
        raise ValueError(
            f"unknown benchmark {name!r}: choose from {', '.join(sorted(BENCHMARKS))}"
        )
    return BENCHMARKS[name](**kwargs)
