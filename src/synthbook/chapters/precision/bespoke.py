"""Precision: a few real images per digit, a GAN trained on them, and its digits.

:func:`bespoke_sets` trains one GAN per number of real images per digit and
asks it for a synthetic training set; :func:`precision_rows` trains
classifiers on the real images, on the synthetic set and on both, and scores
them on real test digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from synthbook import gan, metrics
from synthbook.data import MnistData, Splits, balanced_subset
from synthbook.plotting import OKABE_ITO
from synthbook.validate import check_count

#: Real images per digit the team has; one bespoke GAN for each.
SIZES = (10, 30, 100)
#: Steps of each bespoke GAN: three eighths of the book GAN's budget (1,500 of 4,000
#: steps with the recipe this chapter was first run with), so that a recipe that
#: learns faster trains these faster too.
GAN_STEPS = 3 * gan.BOOK_STEPS // 8
#: Synthetic digits per class each bespoke GAN is asked for.
PER_DIGIT = 300
#: Seeds of the classifiers (and of the anomaly detectors).
CLASSIFIER_SEEDS = (0, 1, 2)
#: The three training sets compared at each size.
RECIPES = ("real", "synthetic", "real + synthetic")


@dataclass
class Bespoke:
    """A team's few real images, the GAN trained on them, and its synthetic set."""

    real: MnistData
    result: gan.TrainResult
    synthetic: torch.Tensor
    labels: torch.Tensor


def bespoke_sets(
    splits: Splits,
    *,
    sizes: Sequence[int] = SIZES,
    steps: int = GAN_STEPS,
    per_digit: int = PER_DIGIT,
) -> dict[int, Bespoke]:
    """For each size ``n``: ``n`` real images per digit, their GAN and its digits.

    The GANs (seed 0) are cached, like every GAN of the book.
    """
    labels = gan.class_labels(check_count("per_digit", per_digit, minimum=1))
    sets = {}
    for n in sizes:
        real = balanced_subset(splits.train, check_count("size", n, minimum=1), seed=0)
        result = gan.load_or_train(
            real, gan.GANConfig(), steps=steps, seed=0, progress=False
        )
        synthetic = gan.generate(result.generator, labels, seed=1)
        sets[n] = Bespoke(real, result, synthetic, labels)
    return sets


def _recipe(bespoke: Bespoke, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    real = (bespoke.real.images, bespoke.real.labels)
    fake = (bespoke.synthetic, bespoke.labels)
    if name == "real":
        return real
    if name == "synthetic":
        return fake
    return torch.cat([real[0], fake[0]]), torch.cat([real[1], fake[1]])


def precision_rows(
    splits: Splits,
    sets: dict[int, Bespoke],
    *,
    seeds: Sequence[int] = CLASSIFIER_SEEDS,
) -> list[dict[str, Any]]:
    """Train the book's MLP on each recipe of :data:`RECIPES`; score on real test digits.

    Returns one row per size, recipe and seed, with the keys ``strategy`` (the
    recipe), ``amount`` (the size), ``seed`` and ``accuracy``, as
    :func:`synthbook.stats.summarise` and ``paired_difference`` read them.
    """
    rows = []
    for n, bespoke in sets.items():
        for name in RECIPES:
            images, labels = _recipe(bespoke, name)
            for seed in seeds:
                model = metrics.train_classifier(
                    images, labels, arch="mlp", epochs=8, seed=seed
                )
                accuracy = metrics.accuracy(model, splits.test)
                rows.append(
                    {"strategy": name, "amount": n, "seed": seed, "accuracy": accuracy}
                )
    return rows


def plot_precision(summary: list[dict[str, Any]], sizes: Sequence[int]) -> Figure:
    """Accuracy on real test digits against real images per digit, one line per recipe."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for i, name in enumerate(RECIPES):
        points = sorted(
            (r for r in summary if r["strategy"] == name), key=lambda r: r["amount"]
        )
        means = np.array([p["mean"] for p in points])
        errors = [
            [p["mean"] - p["low"] for p in points],
            [p["high"] - p["mean"] for p in points],
        ]
        ax.errorbar(
            np.arange(len(points)) + 0.06 * (i - 1),
            means,
            yerr=errors,
            marker="os^"[i],
            color=OKABE_ITO[i],
            capsize=3,
            label=name,
        )
    ax.set_xticks(range(len(sizes)), [str(n) for n in sizes])
    ax.set(xlabel="real images per digit", ylabel="accuracy on real test digits")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def for_sizes(values: Sequence[int]) -> str:
    """'for n = 10 and 30', or 'for no n' when empty."""
    return f"for n = {listed(values)}" if values else "for no n"


def listed(values: Sequence[Any]) -> str:
    """Values as prose: '10', '10 and 30', '10, 30 and 100'; 'none' when empty."""
    words = [str(v) for v in values]
    if not words:
        return "none"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]
