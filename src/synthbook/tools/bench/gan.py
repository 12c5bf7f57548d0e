"""``bench gan``: GAN quality against training time, the book's recipe and baselines."""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import asdict
from typing import Any

import torch

from synthbook import gan, metrics
from synthbook.data import Splits, book_splits, load_mnist
from synthbook.repro import setup

#: The recipe of the Keras conditional-GAN example (keras.io, "Conditional
#: GAN"), re-implemented in this harness: its convolutional networks, one-hot
#: labels concatenated to the generator's noise and to the discriminator's
#: input channels, binary cross-entropy, no auxiliary classifier, Adam at 3e-4
#: with Keras's default betas (0.9, 0.999), 128-dimensional noise, batch 64.
KERAS_CGAN_BASELINE = gan.GANConfig(
    arch="keras-cgan",
    latent_dim=128,
    loss="bce",
    projection=False,
    aux_weight=0.0,
    ema_decay=0.0,
    lr_g=3e-4,
    lr_d=3e-4,
    beta1=0.9,
    beta2=0.999,
)
#: The same networks as the book's recipe, conditioned the plain way (one-hot
#: label concatenated to the inputs), with cross-entropy, no auxiliary
#: classifier and no weight averaging: isolates what the recipe adds.
PLAIN_MLP_BASELINE = gan.GANConfig(
    loss="bce",
    projection=False,
    aux_weight=0.0,
    ema_decay=0.0,
)


def _train_with_snapshots(
    splits: Splits,
    config: gan.GANConfig,
    seconds: float,
    fractions: tuple[float, ...],
    seed: int,
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

    result = gan.train_gan(
        splits.train, config, seconds=seconds, seed=seed, progress=False, callback=keep
    )
    if marks:  # the last mark falls after the final step
        snapshots.append((result.seconds, result.steps, result.generator))
    return snapshots


def widget_latency(generator: torch.nn.Module, repeats: int = 40) -> float | None:
    """Median milliseconds for one redraw of the generator panel (render + encode).

    Returns None when :mod:`synthbook.widgets` (or its ``render``) is not there.
    """
    try:
        from synthbook.widgets import image_html, render
    except ImportError:
        return None
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        grid = render(
            generator,
            digit=i % 10,
            seed=i,
            noise_scale=1.0 + 0.05 * (i % 7),
            truncation=0.0 if i % 2 else 1.5,
            shifts=(0.1 * (i % 5), 0.0, -0.1),
        )
        image_html(grid, "benchmark redraw", scale=3)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _row_text(row: dict[str, Any]) -> str:
    return (
        f"  {row['seconds']:5.1f} s {row['steps']:6d} steps  GAN-test {row['gan_test']:.3f}  "
        f"GAN-train {row['gan_train']:.3f}  FD {row['frechet']:7.1f} "
        f"(x{row['fd_ratio']:.1f} real-vs-real)  precision {row['precision']:.3f}  "
        f"recall {row['recall']:.3f}"
    )


def bench_gan(
    seconds: float = 60.0, seed: int = 0, data_source: str | None = "embedded"
) -> dict[str, Any]:
    """Quality against wall time for the book's recipe and two baselines; print a table.

    Every recipe trains in this process for the same wall-clock budget, on the
    same 3,000 training digits and thread count; the scores are computed at a
    quarter, half and all of the budget (the baselines: half and all).
    """
    session = setup(seed)
    splits = book_splits(load_mnist(data_source), seed=seed)
    judge = metrics.load_or_train_judge(splits.judge, seed=seed)
    recipes = {
        "synthbook": (gan.GANConfig(), (0.25, 0.5, 1.0)),
        "plain-mlp-cgan": (PLAIN_MLP_BASELINE, (0.5, 1.0)),
        "keras-cgan": (KERAS_CGAN_BASELINE, (0.5, 1.0)),
    }
    print(
        f"budget {seconds:g} s per recipe, {session.threads} torch threads, "
        f"{len(splits.train):,} training digits"
    )
    rows: list[dict[str, Any]] = []
    finals: dict[str, dict[str, Any]] = {}
    final_generator = None
    for name, (config, fractions) in recipes.items():
        print(f"\n{name}: {asdict(config)}", flush=True)
        snapshots = _train_with_snapshots(splits, config, seconds, fractions, seed)
        for elapsed, steps, generator in snapshots:
            scores = metrics.evaluate_generator(generator, splits, judge, seed=seed)
            scores["fd_ratio"] = scores["frechet"] / scores["frechet_real_vs_real"]
            row = {"recipe": name, "seconds": elapsed, "steps": steps, **scores}
            rows.append(row)
            print(_row_text(row), flush=True)
        finals[name] = rows[-1]
        if name == "synthbook":
            final_generator = snapshots[-1][2]
    first = rows[0]
    print(
        f"\nreferences: the same classifier trained on the real train split scores "
        f"{first['real_train_accuracy']:.3f} on test (the GAN-train ceiling); the judge "
        f"scores {first['judge_accuracy']:.3f} on real test digits; FD real-vs-real "
        f"{first['frechet_real_vs_real']:.1f}"
    )
    ours = finals["synthbook"]
    print(
        f"synthbook at {seconds:g} s: {ours['steps']:,} steps "
        f"({ours['steps'] / ours['seconds']:.0f} steps/s); targets GAN-test >= 0.95: "
        f"{ours['gan_test'] >= 0.95}, GAN-train >= 0.90: {ours['gan_train'] >= 0.90}, "
        f"FD ratio <= 10: {ours['fd_ratio'] <= 10}"
    )

    def ratio(key: str, base: dict[str, Any], digits: int = 2) -> str:
        # A baseline that scores 0 has no finite ratio; say so rather than print 1e9.
        if base[key] <= 0:
            return f"n/a (baseline {key} is 0)"
        return f"{ours[key] / base[key]:.{digits}f}"

    for base_name in ("plain-mlp-cgan", "keras-cgan"):
        base = finals[base_name]
        print(
            f"ratios synthbook / {base_name} at {seconds:g} s: "
            f"GAN-test {ratio('gan_test', base)}, GAN-train {ratio('gan_train', base)}, "
            f"FD {ratio('frechet', base, 3)} (lower is better), "
            f"recall {ratio('recall', base)}, steps {ratio('steps', base, 1)}"
        )
    latency = widget_latency(final_generator)
    if latency is None:
        print("\nwidget latency: synthbook.widgets not available")
    else:
        print(
            f"\nwidget latency: median {latency:.1f} ms per redraw (render + PNG encode)"
        )
    started = time.perf_counter()
    book = gan.load_or_train(
        splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=seed, progress=False
    )
    cached = time.perf_counter() - started < 0.5 * book.seconds
    print(
        f"book model: {book.steps:,} steps (gan.BOOK_STEPS), trained in {book.seconds:.1f} s"
        f"{' (read from the cache)' if cached else ''}"
    )
    return {"rows": rows, "widget_ms": latency, "book_seconds": book.seconds}
