"""Benchmarks that print numbers: ``python -m synthbook bench NAME``.

Timings are only comparable within one run on one machine, so each benchmark
runs its baseline in the same process, with the same budget, and prints ratios.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import torch

from synthbook import gan, metrics
from synthbook.data import Splits, book_splits, load_mnist
from synthbook.repro import setup

#: A re-implementation, in this harness, of the recipe of the Keras
#: conditional-GAN example: convolutional networks, labels concatenated to the
#: inputs, binary cross-entropy, no auxiliary classifier, Adam at 3e-4,
#: 128-dimensional noise, batch 64.
KERAS_LIKE_BASELINE = gan.GANConfig(
    arch="conv", latent_dim=128, loss="bce", projection=False, aux_weight=0.0,
    lr_g=3e-4, lr_d=3e-4,
)


def _train_with_snapshots(
    splits: Splits, config: gan.GANConfig, seconds: float, fractions: tuple[float, ...], seed: int
) -> list[tuple[float, int, torch.nn.Module]]:
    """Train for ``seconds``; keep a copy of G when each fraction of the time has passed."""
    marks = sorted(f * seconds for f in fractions)
    snapshots: list[tuple[float, int, torch.nn.Module]] = []
    started = time.perf_counter()

    def keep(step: int, _history: dict[str, Any], generator: torch.nn.Module) -> None:
        elapsed = time.perf_counter() - started
        while marks and elapsed >= marks[0]:
            marks.pop(0)
            snapshots.append((elapsed, step, copy.deepcopy(generator).eval()))

    result = gan.train_gan(splits.train, config, seconds=seconds, seed=seed, progress=False,
                           callback=keep)
    if marks:  # the last mark can fall after the final step
        snapshots.append((result.seconds, result.steps, result.generator))
    return snapshots


def widget_latency(generator: torch.nn.Module, repeats: int = 40) -> float:
    """Median milliseconds for one redraw of the generator panel (render + encode)."""
    from synthbook.widgets import image_html, render

    times = []
    for i in range(repeats):
        started = time.perf_counter()
        grid = render(generator, digit=i % 10, seed=i, noise_scale=1.0 + 0.05 * (i % 7),
                      shifts=(0.1 * (i % 5), 0.0, -0.1))
        image_html(grid, "benchmark redraw", scale=3)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_gan(
    seconds: float = 60.0, seed: int = 0, data_source: str | None = None
) -> dict[str, Any]:
    """Quality against wall time for the book's recipe and a baseline; print a table."""
    setup(seed)
    splits = book_splits(load_mnist(data_source), seed=seed)
    judge = metrics.load_or_train_judge(splits.judge, seed=seed)
    fractions = (0.25, 0.5, 1.0)
    recipes = {"synthbook": gan.GANConfig(), "keras-like": KERAS_LIKE_BASELINE}
    rows = []
    for name, config in recipes.items():
        print(f"\n{name}: {asdict(config)}")
        for elapsed, steps, generator in _train_with_snapshots(splits, config, seconds, fractions,
                                                               seed):
            scores = metrics.evaluate_generator(generator, splits, judge, seed=seed)
            scores["fd_ratio"] = scores["frechet"] / scores["frechet_real_vs_real"]
            rows.append({"recipe": name, "seconds": elapsed, "steps": steps, **scores})
            print(f"  {elapsed:5.1f} s {steps:6d} steps  GAN-test {scores['gan_test']:.3f}  "
                  f"GAN-train {scores['gan_train']:.3f}  FD {scores['frechet']:7.1f} "
                  f"(x{scores['fd_ratio']:.1f} real-vs-real)  precision {scores['precision']:.3f}  "
                  f"recall {scores['recall']:.3f}")
    final = {r["recipe"]: r for r in rows if r["seconds"] >= 0.99 * seconds or r is rows[-1]}
    ours, base = final.get("synthbook"), final.get("keras-like")
    if ours and base:
        print(f"\nat {seconds:g} s: synthbook/keras-like ratios: "
              f"GAN-test {ours['gan_test'] / max(base['gan_test'], 1e-9):.2f}, "
              f"GAN-train {ours['gan_train'] / max(base['gan_train'], 1e-9):.2f}, "
              f"FD {ours['frechet'] / max(base['frechet'], 1e-9):.2f} (lower is better), "
              f"steps {ours['steps'] / max(base['steps'], 1):.2f}")
    book = gan.load_or_train(splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=seed,
                             progress=False)
    latency = widget_latency(book.generator)
    print(f"\nbook model: {book.steps} steps, trained in {book.seconds:.1f} s")
    print(f"widget redraw latency: median {latency:.1f} ms (target <= 50 ms)")
    return {"rows": rows, "widget_ms": latency, "book_seconds": book.seconds}


BENCHMARKS: dict[str, Callable[..., Any]] = {"gan": bench_gan}


def run(name: str, **kwargs: Any) -> Any:
    """Run the benchmark ``name`` (see :data:`BENCHMARKS`)."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}: choose from {', '.join(sorted(BENCHMARKS))}")
    return BENCHMARKS[name](**kwargs)


