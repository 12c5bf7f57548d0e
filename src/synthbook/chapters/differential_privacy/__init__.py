"""The chapter *A defence with a price: differential privacy*.

:mod:`~synthbook.chapters.differential_privacy.training` trains the book's GAN
with a differentially private discriminator (DP-SGD through the one training
loop of :mod:`synthbook.gan`); this module says what a budget guarantees
(:func:`auc_ceiling`) and measures the privacy/fidelity curve the chapter
draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from scipy.stats import norm

from synthbook import gan, metrics, tails
from synthbook.chapters.differential_privacy.training import (
    DEFAULT_DELTA,
    DPSettings,
    DPSGDUpdate,
    DPTrainResult,
    load_or_train_dp_gan,
    noise_multiplier_for,
    train_dp_gan,
)
from synthbook.data import MnistData, Splits, balanced_subset
from synthbook.membership import AttackAUC, membership_aucs
from synthbook.plotting import OKABE_ITO
from synthbook.validate import check_count

__all__ = [
    "CHANCE",
    "CURVE_EPSILONS",
    "CURVE_STEPS",
    "DEFAULT_DELTA",
    "CurvePoint",
    "DPSGDUpdate",
    "DPSettings",
    "DPTrainResult",
    "RareCase",
    "auc_ceiling",
    "budget_table",
    "curve_point",
    "curve_tables",
    "evaluate_point",
    "guessing_range",
    "learned_little",
    "load_or_train_dp_gan",
    "noise_multiplier_for",
    "per_digit_table",
    "plot_privacy_fidelity",
    "privacy_fidelity_curve",
    "rare_digit_case",
    "train_dp_gan",
]


# --------------------------------------------------------------------------
# What a budget guarantees, and the privacy/fidelity curve
# --------------------------------------------------------------------------


def auc_ceiling(epsilon: float, delta: float = DEFAULT_DELTA) -> float:
    """Return the highest ROC AUC any membership attack can reach against (epsilon, delta)-DP.

    Differential privacy constrains every test of "was this record in the
    training set?": its true-positive rate is at most
    ``min(exp(eps) * FPR + delta, 1 - exp(-eps) * (1 - delta - FPR))`` at each
    false-positive rate (Kairouz et al. 2015). The AUC of that best possible
    ROC curve is the ceiling; 0.5 at ``epsilon = 0``.

    Raises
    ------
    ValueError
        If ``epsilon`` is negative or ``delta`` is not in [0, 1).
    """
    if not epsilon >= 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
    if not 0 <= delta < 1:
        raise ValueError(f"delta must be in [0, 1), got {delta!r}")
    if math.isinf(epsilon):
        return 1.0
    fpr = torch.linspace(0.0, 1.0, 20_001, dtype=torch.float64)
    tpr = torch.minimum(
        math.exp(epsilon) * fpr + delta, 1.0 - math.exp(-epsilon) * (1.0 - delta - fpr)
    ).clamp(0.0, 1.0)
    tpr = torch.maximum(
        tpr, fpr
    )  # an attack can always do at least as well as guessing
    return float(torch.trapezoid(tpr, fpr))


def guessing_range(n_members: int, n_nonmembers: int) -> tuple[float, float]:
    """Return the range that holds 95% of the AUCs of an attack that only guesses.

    With scores unrelated to membership, the AUC is a Mann-Whitney statistic
    divided by ``n_members * n_nonmembers``: mean 0.5 and variance
    ``(n_members + n_nonmembers + 1) / (12 * n_members * n_nonmembers)``
    (normal approximation, no ties).

    Raises
    ------
    ValueError
        If either count is below 1.
    """
    m = check_count("n_members", n_members, minimum=1)
    n = check_count("n_nonmembers", n_nonmembers, minimum=1)
    half = float(norm.ppf(0.975)) * math.sqrt((m + n + 1) / (12 * m * n))
    return 0.5 - half, 0.5 + half


CURVE_EPSILONS: tuple[float, ...] = (1.0, 4.0, 16.0)
CURVE_STEPS = 1000
#: Real training images per common digit attacked as members.
COMMON_PER_CLASS = 100
#: GAN-test accuracy of a generator whose digits the judge reads at random.
CHANCE = 0.1
#: Generated digits per class for the fidelity measures.
FIDELITY_PER_CLASS = 100
#: Generated digits the black-box attacker sees: per class (common digits), and of
#: the rare digit (as in the chapter *Too real*).
POOL_PER_CLASS = 300
RARE_POOL = 1000


@dataclass
class RareCase:
    """The long-tailed training set the curve is trained on, and whom to attack.

    Attributes
    ----------
    digit : int
        The rare digit (8, as in the chapter on variability).
    data : MnistData
        Every training image except most of the rare digit's.
    groups : dict of str to (MnistData, MnistData)
        ``"rare"``: the few real images of the rare digit in ``data`` (members)
        and every test image of it (non-members); ``"common"``: 100 training
        images of every other digit and every test image of the other digits.
    """

    digit: int
    data: MnistData
    groups: dict[str, tuple[MnistData, MnistData]]


def rare_digit_case(splits: Splits, *, seed: int = 0) -> RareCase:
    """Return the twelve-8s training set of *Variability* and its attack groups."""
    digit = tails.RARE_DIGIT
    data = tails.make_long_tail(splits.train, digit, tails.KEEP, seed=0)
    is_rare = splits.test.labels.numpy() == digit
    rare_in = data.subset(np.flatnonzero(data.labels.numpy() == digit))
    common = balanced_subset(splits.train, COMMON_PER_CLASS, seed=seed)
    common_in = common.subset(np.flatnonzero(common.labels.numpy() != digit))
    groups = {
        "rare": (rare_in, splits.test.subset(np.flatnonzero(is_rare))),
        "common": (common_in, splits.test.subset(np.flatnonzero(~is_rare))),
    }
    return RareCase(digit, data, groups)


@dataclass
class CurvePoint:
    """One GAN on the privacy/fidelity curve.

    Attributes
    ----------
    label : str
        ``"ε = 4"``, or ``"no DP"`` for the plain recipe.
    epsilon : float
        Privacy spent (``math.inf`` without DP).
    noise_multiplier : float
        Sigma of the discriminator's noise (0 without DP).
    gan_test : float
        Share of generated digits the judge reads as the digit asked for.
    per_class : numpy.ndarray
        The same, per digit (shape (10,)).
    readings : numpy.ndarray
        How often the judge reads each digit among all generated ones (shape
        (10,), sums to 1): one dominant reading means the generator collapsed
        onto one shape, whatever it was asked for.
    frechet_ratio : float
        Fréchet distance of generated to real training digits (judge features),
        divided by that of real held-out to real training digits.
    attacks : dict of str to dict of str to synthbook.membership.AttackAUC
        Group (``"rare"``, ``"common"``) -> attack (``"white-box"``,
        ``"black-box"``) -> its AUC.
    ceiling : float
        The AUC no attack can exceed at this epsilon (:func:`auc_ceiling`).
    seconds : float
        Training time, as recorded when the model was trained.
    gan : synthbook.gan.TrainResult
    """

    label: str
    epsilon: float
    noise_multiplier: float
    gan_test: float
    per_class: Any
    readings: Any
    frechet_ratio: float
    attacks: dict[str, dict[str, AttackAUC]]
    ceiling: float
    seconds: float
    gan: gan.TrainResult


def evaluate_point(
    label: str,
    result: gan.TrainResult,
    case: RareCase,
    splits: Splits,
    judge: metrics.Classifier,
    *,
    epsilon: float,
    noise_multiplier: float,
    seed: int = 0,
) -> CurvePoint:
    """Score one trained GAN for the curve: fidelity (judge) and the attacks."""
    labels = gan.class_labels(FIDELITY_PER_CLASS)
    images = gan.generate(result.generator, labels, seed=seed)
    read_as = judge.predict(images)
    hits = read_as == labels.numpy()
    reference = balanced_subset(splits.train, FIDELITY_PER_CLASS, seed=seed)
    other = balanced_subset(splits.test, FIDELITY_PER_CLASS, seed=seed)
    real = metrics.judge_features(judge, reference.images)
    ratio = metrics.frechet_distance(
        real, metrics.judge_features(judge, images)
    ) / metrics.frechet_distance(real, metrics.judge_features(judge, other.images))
    pools = {
        "rare": gan.generate(result.generator, case.digit, RARE_POOL, seed=seed + 3),
        "common": gan.generate(
            result.generator, gan.class_labels(POOL_PER_CLASS), seed=seed + 2
        ),
    }
    attacks = {
        group: membership_aucs(result, inside, outside, pools[group], seed=seed)
        for group, (inside, outside) in case.groups.items()
    }
    return CurvePoint(
        label,
        epsilon,
        noise_multiplier,
        float(hits.mean()),
        hits.reshape(10, -1).mean(axis=1),
        np.bincount(read_as, minlength=10) / len(read_as),
        float(ratio),
        attacks,
        auc_ceiling(epsilon),
        float(result.seconds),
        result,
    )


def learned_little(point: CurvePoint, plain: CurvePoint) -> bool:
    """Tell whether ``point``'s GAN-test lies nearer chance than the plain model's.

    The midpoint between :data:`CHANCE` and the plain recipe's GAN-test splits
    "still learned the digits" from "learned little": a private model below it
    has lost most of what the same recipe learns without noise.
    """
    return point.gan_test - CHANCE < plain.gan_test - point.gan_test


def curve_point(
    case: RareCase,
    splits: Splits,
    judge: metrics.Classifier,
    epsilon: float,
    *,
    steps: int = CURVE_STEPS,
    seed: int = 0,
    progress: bool = False,
) -> CurvePoint:
    """Train (or load) one GAN on ``case.data`` and score it.

    ``epsilon = math.inf`` trains the plain recipe (:func:`synthbook.gan.load_or_train`,
    so a model another chapter trained the same way comes from the cache); any
    finite epsilon trains a DP-SGD discriminator with that budget. Every model
    gets the same data, recipe, steps and seed.
    """
    if math.isinf(epsilon) and epsilon > 0:
        plain = gan.load_or_train(
            case.data, gan.GANConfig(), steps=steps, seed=seed, progress=progress
        )
        return evaluate_point(
            "no DP", plain, case, splits, judge, epsilon=math.inf, noise_multiplier=0.0
        )
    trained = load_or_train_dp_gan(
        case.data, DPSettings(epsilon), steps=steps, seed=seed, progress=progress
    )
    return evaluate_point(
        f"ε = {epsilon:g}",
        trained.gan,
        case,
        splits,
        judge,
        epsilon=trained.epsilon,
        noise_multiplier=trained.noise_multiplier,
        seed=seed,
    )


def privacy_fidelity_curve(
    case: RareCase,
    splits: Splits,
    judge: metrics.Classifier,
    *,
    epsilons: tuple[float, ...] = CURVE_EPSILONS,
    steps: int = CURVE_STEPS,
    seed: int = 0,
    progress: bool = False,
) -> list[CurvePoint]:
    """Every budget of ``epsilons`` (most private first), then the plain recipe."""
    if not epsilons:
        raise ValueError("give at least one epsilon")
    budgets = [*sorted(epsilons), math.inf]
    return [
        curve_point(case, splits, judge, eps, steps=steps, seed=seed, progress=progress)
        for eps in budgets
    ]


# --------------------------------------------------------------------------
# Tables and the figure
# --------------------------------------------------------------------------


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def budget_table(epsilons: tuple[float, ...], *, sample_rate: float, steps: int) -> str:
    """Markdown table: for each epsilon, the noise it needs and the AUC ceiling."""
    rows = [
        [
            f"{eps:g}",
            f"{noise_multiplier_for(DPSettings(eps), sample_rate=sample_rate, steps=steps):.2f}",
            f"{auc_ceiling(eps):.3f}",
        ]
        for eps in epsilons
    ]
    header = ["ε", "noise multiplier σ", "highest AUC any attack can reach"]
    return _markdown(header, rows)


def _auc(result: AttackAUC) -> str:
    mark = "" if result.leaks else " ·"
    return f"{result.auc:.2f} [{result.low:.2f}, {result.high:.2f}]{mark}"


def curve_tables(points: list[CurvePoint], digit: int) -> tuple[str, str]:
    """Two Markdown tables over the curve: fidelity, and the attacks.

    In the attack table a middle dot marks an attack that does not leak by the
    book's rule (its 95% interval includes 0.5).
    """
    fidelity = _markdown(
        ["model", "σ", "GAN-test", f"{digit}s recognised", "Fréchet ratio"],
        [
            [
                p.label,
                f"{p.noise_multiplier:.2f}",
                f"{p.gan_test:.2f}",
                f"{p.per_class[digit]:.2f}",
                f"{p.frechet_ratio:.1f}",
            ]
            for p in points
        ],
    )
    header = ["model", "ceiling"] + [
        f"{attack} ({group} digits)"
        for group in ("rare", "common")
        for attack in ("white-box", "black-box")
    ]
    rows = [
        [p.label, f"{p.ceiling:.3f}" if math.isfinite(p.epsilon) else "none"]
        + [
            _auc(p.attacks[group][attack])
            for group in ("rare", "common")
            for attack in ("white-box", "black-box")
        ]
        for p in points
    ]
    return fidelity, _markdown(header, rows)


def per_digit_table(points: list[CurvePoint], digit: int) -> str:
    """Markdown table: how often each requested digit is recognised, per model."""
    header = ["model"] + [f"{d} (rare)" if d == digit else str(d) for d in range(10)]
    rows = [[p.label] + [f"{v:.2f}" for v in p.per_class] for p in points]
    return _markdown(header, rows)


def plot_privacy_fidelity(points: list[CurvePoint]) -> Figure:
    """Two panels over the curve's models: fidelity, and attack AUCs under the ceiling.

    Left: GAN-test accuracy overall. Right: the white-box and black-box attacks
    on the rare digit's members (filled markers) and on the common digits'
    (open markers), with each private model's ceiling.
    """
    if not points:
        raise ValueError("no curve points to plot")
    x = np.arange(len(points))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 4.4))
    left.plot(x, [p.gan_test for p in points], "o-", color=OKABE_ITO[4])
    left.axhline(CHANCE, color="grey", linestyle=":", linewidth=1)
    left.text(x[0], CHANCE + 0.02, f"chance ({CHANCE:g})", color="grey", fontsize=8)
    left.set_ylim(0, 1.02)
    left.set_ylabel("judge reads the digit asked for")
    left.set_title("fidelity", fontsize=10)
    styles = {"white-box": (OKABE_ITO[5], -0.15), "black-box": (OKABE_ITO[1], 0.05)}
    for group, fill in (("rare", None), ("common", "none")):
        for attack, (colour, offset) in styles.items():
            res = [p.attacks[group][attack] for p in points]
            right.errorbar(
                x + offset + (0.1 if group == "common" else 0.0),
                [r.auc for r in res],
                yerr=[[r.auc - r.low for r in res], [r.high - r.auc for r in res]],
                fmt="o" if group == "rare" else "s",
                mfc=fill,
                capsize=3,
                color=colour,
                label=f"{attack}, {group} digits",
            )
    private = [i for i, p in enumerate(points) if np.isfinite(p.epsilon)]
    right.plot(
        x[private],
        [points[i].ceiling for i in private],
        "_",
        markersize=26,
        color="black",
        label="DP ceiling for any attack",
    )
    right.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    right.set_ylim(0.2, 1.05)
    right.set_ylabel("membership attack ROC AUC")
    right.set_title("privacy", fontsize=10)
    right.legend(
        frameon=False,
        fontsize=7,
        ncol=2,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
    )
    for ax in (left, right):
        ax.set_xticks(x)
        ax.set_xticklabels([p.label for p in points])
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
