"""Precision, portability and the generated anomaly: three small experiments.

The chapter "Precision, portability and the generated anomaly" turns two
shifts that Wiehn and Steinhoff name in a conference abstract, and a question
Jacobsen leaves open, into experiments on the digits:

- *precision*: :func:`bespoke_sets` trains one GAN per number of real images
  per digit and asks it for a synthetic training set; :func:`precision_rows`
  trains classifiers on the real images, on the synthetic set and on both, and
  scores them on real test digits;
- *portability*: :func:`bespoke_attacks` runs the membership attacks of
  :mod:`synthbook.membership` on each bespoke GAN;
- *the generated anomaly*: :func:`anomaly_flags` trains detectors that learn
  "odd" from digits generated with scaled-up noise, and :func:`style_groups`
  and :func:`flag_gap` ask whether they single out real unusual handwriting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from synthbook import gan, metrics, tails
from synthbook.data import MnistData, Splits, balanced_subset
from synthbook.membership import membership_aucs
from synthbook.plotting import OKABE_ITO
from synthbook.validate import check_count, check_probability

__all__ = [
    "CLASSIFIER_SEEDS",
    "GAN_STEPS",
    "PER_DIGIT",
    "RECIPES",
    "SCALES",
    "SIZES",
    "STYLE_SHARE",
    "Bespoke",
    "anomaly_flags",
    "bespoke_attacks",
    "bespoke_sets",
    "flag_gap",
    "for_sizes",
    "gap_reading",
    "listed",
    "plot_flags",
    "plot_precision",
    "precision_rows",
    "style_groups",
]

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
#: Noise scales of the generated anomalies.
SCALES = (1.5, 2.0, 3.0)
#: Share of real digits marked as unusual by each style measure.
STYLE_SHARE = 0.05


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


def bespoke_attacks(
    splits: Splits, sets: dict[int, Bespoke], *, seed: int = 0
) -> list[dict[str, Any]]:
    """Both membership attacks on each bespoke GAN.

    Members are its ``n`` real images per digit; non-members as many real test
    digits; the black-box attacker sees the synthetic set the classifiers were
    trained on. Rows as :func:`synthbook.membership.plot_attack_aucs` reads them,
    with ``n`` added.
    """
    rows = []
    for n, bespoke in sets.items():
        outsiders = balanced_subset(splits.test, n, seed=seed)
        found = membership_aucs(
            bespoke.result, bespoke.real, outsiders, bespoke.synthetic, seed=seed
        )
        for name, result in found.items():
            row = {"n": n, "train_size": len(bespoke.real), "attack": name}
            rows.append(row | {"steps": bespoke.result.steps, "result": result})
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


# --------------------------------------------------------------------------
# The generated anomaly
# --------------------------------------------------------------------------


def style_groups(images: torch.Tensor, *, share: float = 0.05) -> dict[str, np.ndarray]:
    """Boolean masks: the most slanted and the heaviest-ink ``share``, and the rest.

    Slant is measured by its size, leaning either way, and ink is the total of
    the pixel values (the style measures of the chapter on variability).
    """
    share = check_probability("share", share, open_ends=True)
    slant = np.abs(tails.style_scores(images, "slant"))
    ink = tails.style_scores(images, "ink")
    top = f"{share:.0%}"
    slanted = slant > np.quantile(slant, 1 - share)
    heavy = ink > np.quantile(ink, 1 - share)
    return {
        "ordinary": ~(slanted | heavy),
        f"most slanted {top}": slanted,
        f"heaviest ink {top}": heavy,
    }


def anomaly_flags(
    generator: torch.nn.Module,
    normal: torch.Tensor,
    held_out: torch.Tensor,
    *,
    scales: Sequence[float] = SCALES,
    seeds: Sequence[int] = CLASSIFIER_SEEDS,
    per_digit: int = PER_DIGIT,
) -> dict[float, np.ndarray]:
    """For each noise scale, the share of detectors that flag each held-out digit.

    A detector is the book's MLP trained to tell ``normal`` (label 0) from
    digits ``generator`` makes with its noise scaled by ``s`` (label 1); each
    seed draws its own anomalies and its own detector. Returns
    ``{s: array of len(held_out)}`` with values in ``[0, 1]``.
    """
    wanted = gan.class_labels(per_digit)
    flags = {}
    for s in scales:
        votes = []
        for seed in seeds:
            odd = gan.generate(generator, wanted, seed=10 + seed, noise_scale=s)
            images = torch.cat([normal, odd])
            labels = torch.cat([torch.zeros(len(normal)), torch.ones(len(odd))]).long()
            detector = metrics.train_classifier(
                images, labels, arch="mlp", epochs=8, seed=seed
            )
            votes.append(detector.predict(held_out) == 1)
        flags[s] = np.mean(votes, axis=0)
    return flags


def flag_gap(
    values: np.ndarray,
    odd: np.ndarray,
    ordinary: np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean flag rate of ``odd`` digits minus that of ``ordinary`` ones, with a 95% CI.

    A percentile bootstrap that resamples each group separately (seeded).
    """
    n_boot = check_count("n_boot", n_boot, minimum=1)
    a, b = np.asarray(values)[odd], np.asarray(values)[ordinary]
    if len(a) == 0 or len(b) == 0:
        raise ValueError("both groups need at least one digit")
    rng = np.random.default_rng(seed)
    draw_a = rng.multinomial(len(a), np.full(len(a), 1 / len(a)), n_boot) @ a / len(a)
    draw_b = rng.multinomial(len(b), np.full(len(b), 1 / len(b)), n_boot) @ b / len(b)
    low, high = np.quantile(draw_a - draw_b, [0.025, 0.975])
    return float(a.mean() - b.mean()), float(low), float(high)


def plot_flags(flags: dict[float, np.ndarray], groups: dict[str, np.ndarray]) -> Figure:
    """Share of real held-out digits flagged, by noise scale, one line per group."""
    scales = sorted(flags)
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for i, (name, mask) in enumerate(groups.items()):
        rates = [flags[s][mask].mean() for s in scales]
        ax.plot(scales, rates, marker="os^"[i % 3], color=OKABE_ITO[i], label=name)
    ax.set(
        xlabel="noise scale s of the generated anomalies",
        ylabel="share of real digits flagged",
        xticks=scales,
        ylim=(0, None),
    )
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def for_sizes(values: Sequence[int]) -> str:
    """'for n = 10 and 30', or 'for no n' when empty."""
    return f"for n = {listed(values)}" if values else "for no n"


def gap_reading(gaps: dict[float, tuple[float, float, float]]) -> str:
    """Say at which noise scales a group is flagged clearly more or less often.

    ``gaps`` maps each scale to :func:`flag_gap`'s (difference, low, high).
    """
    more = [s for s, (_, low, _) in gaps.items() if low > 0]
    fewer = [s for s, (_, _, high) in gaps.items() if high < 0]
    parts = []
    if more:
        parts.append(f"clearly more often than ordinary digits at s = {listed(more)}")
    if fewer:
        parts.append(f"clearly less often than ordinary digits at s = {listed(fewer)}")
    if not parts:
        return "at no noise scale clearly more or less often than ordinary digits"
    return ", and ".join(parts)


def listed(values: Sequence[Any]) -> str:
    """Values as prose: '10', '10 and 30', '10, 30 and 100'; 'none' when empty."""
    words = [str(v) for v in values]
    if not words:
        return "none"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]
