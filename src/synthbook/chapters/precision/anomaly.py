"""The generated anomaly: detectors that learn "odd" from a generator.

:func:`anomaly_flags` trains detectors on digits generated with scaled-up
noise; :func:`style_groups` and :func:`flag_gap` ask whether they single out
real unusual handwriting; :func:`agreement_gap` compares the digits flagged at
two noise scales with a control at the same scale and other seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from synthbook import gan, metrics, tails
from synthbook.chapters.precision.bespoke import CLASSIFIER_SEEDS, PER_DIGIT, listed
from synthbook.plotting import OKABE_ITO
from synthbook.validate import check_count, check_probability

#: Noise scales of the generated anomalies.
SCALES = (1.5, 2.0, 3.0)
#: Share of real digits marked as unusual by each style measure.
STYLE_SHARE = 0.05
#: Seeds of the control detectors: same noise scale, other seeds.
CONTROL_SEEDS = (3, 4, 5)


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


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """How many digits two sets of flags share: (flagged by both, by either)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"flags of different shapes: {a.shape} and {b.shape}")
    return int((a & b).sum()), int((a | b).sum())


def _shared_share(both: np.ndarray, either: np.ndarray) -> np.ndarray:
    """Both over either; 1 where neither flags anything (they agree)."""
    return np.where(either > 0, both / np.maximum(either, 1), 1.0)


def agreement_gap(
    pair: tuple[np.ndarray, np.ndarray],
    control: tuple[np.ndarray, np.ndarray],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Agreement of ``pair`` minus that of ``control``, with a 95% CI over digits.

    Agreement is the share of the digits flagged by either of two sets of flags
    that both flag. All four flag arrays are for the same digits, so a paired
    percentile bootstrap resamples digits (seeded). Returns ``mean``, ``low``,
    ``high``, ``verdict`` ("higher", "lower" or "not distinguishable") and the
    two agreements, ``pair_share`` and ``control_share``.
    """
    n_boot = check_count("n_boot", n_boot, minimum=1)
    counts = [agreement(*pair), agreement(*control)]
    masks = [np.asarray(x, dtype=bool) for x in (*pair, *control)]
    n = len(masks[0])
    both = np.stack([masks[0] & masks[1], masks[2] & masks[3]]).astype(float)
    either = np.stack([masks[0] | masks[1], masks[2] | masks[3]]).astype(float)
    draws = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), n_boot)
    shares = _shared_share(draws @ both.T, draws @ either.T)
    low, high = (
        float(q) for q in np.quantile(shares[:, 0] - shares[:, 1], [0.025, 0.975])
    )
    point = _shared_share(*np.array(counts, dtype=float).T)
    verdict = "higher" if low > 0 else "lower" if high < 0 else "not distinguishable"
    return {
        "mean": float(point[0] - point[1]),
        "low": low,
        "high": high,
        "verdict": verdict,
        "pair_share": float(point[0]),
        "control_share": float(point[1]),
    }


def agreement_reading(gaps: dict[float, dict[str, Any]]) -> str:
    """Word the between-scale agreement against the same-scale controls.

    ``gaps`` maps each control's scale to :func:`agreement_gap`'s result for
    (between-scale agreement) minus (same-scale agreement at that scale).
    Returns a sentence.
    """
    lower = [s for s, g in gaps.items() if g["verdict"] == "lower"]
    rest = [s for s in gaps if s not in lower]
    retrained = "detectors retrained with other seeds at"
    if not rest:
        return (
            f"The detectors trained at the two scales agree clearly less than "
            f"{retrained} s = {listed(lower)}: here the noise scale, and not only "
            "the luck of training, changed which real digits are flagged."
        )
    if not lower:
        return (
            "The detectors trained at the two scales do not agree clearly less than "
            f"{retrained} s = {listed(rest)}: in this run, the effect of the noise "
            "scale on which real digits are flagged cannot be told apart from the "
            "luck of training the detectors."
        )
    return (
        f"The detectors trained at the two scales agree clearly less than {retrained} "
        f"s = {listed(lower)}, but not clearly less than those retrained at "
        f"s = {listed(rest)}; so in this run, the effect of the noise scale on which "
        "real digits are flagged is not clearly larger than the luck of training "
        "the detectors."
    )


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


def resemblance_reading(
    gaps: dict[str, dict[float, tuple[float, float, float]]],
) -> str:
    """Say whether any group of unusual handwriting is flagged clearly more often.

    ``gaps`` maps each group's name to :func:`gap_reading`'s input: for each
    scale, :func:`flag_gap`'s (difference, low, high) against ordinary digits.
    """
    found = [
        (name, [s for s, (_, low, _) in by_scale.items() if low > 0])
        for name, by_scale in gaps.items()
    ]
    found = [(name, scales) for name, scales in found if scales]
    if not found:
        return (
            "At no noise scale do the detectors flag a group of unusual handwriting "
            "clearly more often than ordinary digits: what they flag is odd by the "
            "generator's standard, not by these measures of real unusual handwriting."
        )
    where = "; ".join(f"the {name} at s = {listed(scales)}" for name, scales in found)
    return (
        f"The detectors flag {where} clearly more often than ordinary digits: "
        "there, the generator's distortions resemble real unusual handwriting."
    )
