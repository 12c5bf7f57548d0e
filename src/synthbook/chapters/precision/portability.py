"""Portability: what each bespoke GAN and its synthetic set give away.

:func:`bespoke_attacks` runs the membership attacks of
:mod:`synthbook.membership` on each bespoke GAN, :func:`auc_difference`
compares one attack on two GANs, and :func:`exposure_reading` and
:func:`leak_consequence` word the results for every possible outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from synthbook.chapters.precision.bespoke import Bespoke, for_sizes
from synthbook.data import Splits, balanced_subset
from synthbook.membership import (
    attack_auc,
    discriminator_scores,
    distance_attack_scores,
)
from synthbook.validate import check_count


def bespoke_attacks(
    splits: Splits, sets: dict[int, Bespoke], *, seed: int = 0
) -> list[dict[str, Any]]:
    """Both membership attacks on each bespoke GAN.

    Members are its ``n`` real images per digit; non-members as many real test
    digits; the black-box attacker sees the synthetic set the classifiers were
    trained on. Rows as :func:`synthbook.membership.plot_attack_aucs` reads them,
    with ``n`` added, and ``scores``: the (members, non-members) attack scores
    that :func:`auc_difference` compares.
    """
    rows = []
    for n, bespoke in sets.items():
        outsiders = balanced_subset(splits.test, n, seed=seed)
        disc = bespoke.result.discriminator
        scores = {
            "white-box": (
                discriminator_scores(disc, bespoke.real.images, bespoke.real.labels),
                discriminator_scores(disc, outsiders.images, outsiders.labels),
            ),
            "black-box": (
                distance_attack_scores(bespoke.real.images, bespoke.synthetic),
                distance_attack_scores(outsiders.images, bespoke.synthetic),
            ),
        }
        for name, (members, others) in scores.items():
            result = attack_auc(members, others, n_boot=1000, seed=seed)
            row = {"n": n, "train_size": len(bespoke.real), "attack": name}
            row |= {"steps": bespoke.result.steps, "result": result}
            rows.append(row | {"scores": (members, others)})
    return rows


def _wins(scores: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Pair table: 1 where a member outscores a non-member, 0.5 on ties.

    Its mean is the ROC AUC of the attack.
    """
    pos, neg = (np.asarray(x, dtype=np.float64).ravel() for x in scores)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("each attack needs at least one member and one non-member")
    if not (np.isfinite(pos).all() and np.isfinite(neg).all()):
        raise ValueError("attack scores must be finite numbers")
    return (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])


def _boot_aucs(wins: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """AUCs of ``n_boot`` resamples (members and non-members drawn separately)."""
    n_pos, n_neg = wins.shape
    draw_p = rng.multinomial(n_pos, np.full(n_pos, 1 / n_pos), n_boot)
    draw_n = rng.multinomial(n_neg, np.full(n_neg, 1 / n_neg), n_boot)
    return ((draw_p @ wins) * draw_n).sum(axis=1) / (n_pos * n_neg)


def auc_difference(
    first: tuple[np.ndarray, np.ndarray],
    second: tuple[np.ndarray, np.ndarray],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """AUC of one attack on ``first`` minus its AUC on ``second``, with a 95% CI.

    Each argument is (member scores, non-member scores) of one attacked GAN.
    The two GANs have different members and non-members, so the comparison
    cannot be paired: a percentile bootstrap resamples the four groups
    separately (seeded). Returns ``mean`` (the difference of the two AUCs),
    ``low``, ``high`` and ``verdict``, as :func:`synthbook.stats.paired_difference`
    words it: "higher" or "lower" when the interval excludes 0, else "not
    distinguishable".
    """
    n_boot = check_count("n_boot", n_boot, minimum=1)
    rng = np.random.default_rng(seed)
    wins_a, wins_b = _wins(first), _wins(second)
    boots = _boot_aucs(wins_a, n_boot, rng) - _boot_aucs(wins_b, n_boot, rng)
    low, high = (float(q) for q in np.quantile(boots, [0.025, 0.975]))
    verdict = "higher" if low > 0 else "lower" if high < 0 else "not distinguishable"
    mean = float(wins_a.mean() - wins_b.mean())
    return {"mean": mean, "low": low, "high": high, "verdict": verdict}


def exposure_reading(verdicts: dict[str, str], smallest: int, nxt: int) -> str:
    """Say which attacks did clearly better against the smallest set than the next.

    ``verdicts`` maps "white-box" and "black-box" to :func:`auc_difference`'s
    verdict for AUC(``smallest``) minus AUC(``nxt``).
    """
    pair = f"the most bespoke set (n = {smallest}) than against the next (n = {nxt})"
    better = [a for a in ("white-box", "black-box") if verdicts[a] == "higher"]
    if len(better) == 2:
        return (
            f"both attacks did clearly better against {pair}: between these two "
            "sizes, the set made from fewer real images gave away more"
        )
    if not better:
        return (
            f"neither attack did clearly better against {pair}: what a bespoke GAN "
            "gave away did not clearly grow as the real images per digit went down "
            f"from {nxt} to {smallest}"
        )
    if better == ["white-box"]:
        return (
            f"only the white-box attack did clearly better against {pair}: the "
            "discriminator of the most bespoke GAN gave away more, but the "
            "synthetic digits one would hand on did not clearly do so"
        )
    return (
        f"only the black-box attack did clearly better against {pair}: the "
        "synthetic digits one would hand on gave away more, while the GAN's "
        "discriminator did not clearly do so"
    )


def leak_consequence(white_leaks: Sequence[int], black_leaks: Sequence[int]) -> str:
    """Say what the leaks found mean for handing the synthetic sets on.

    ``white_leaks`` and ``black_leaks`` are the sizes at which each attack
    leaks by the book's rule.
    """
    if black_leaks:
        return (
            f"The black-box attack leaks {for_sizes(black_leaks)}: those synthetic "
            "sets are tied to the people behind them, and their precision does not "
            "free them to travel as though they carried no one."
        )
    if white_leaks:
        return (
            "The black-box attack leaks for no n, so by this attack the synthetic "
            "digits alone did not give their training images away; the "
            f"discriminator did ({for_sizes(white_leaks)}), so whoever hands on "
            "the GAN, and not only its digits, hands on more."
        )
    return (
        "No attack leaks for any n by the book's rule; as the next paragraph "
        "says, that does not show that the sets are anonymous."
    )


def change_reading(verdict: str, smallest: int) -> str:
    """Word :func:`auc_difference`'s verdict for AUC(``smallest``) minus the next."""
    words = {
        "higher": f"clearly higher at n = {smallest}",
        "lower": f"clearly lower at n = {smallest}",
        "not distinguishable": "not distinguishable from no change",
    }
    if verdict not in words:
        raise ValueError(f"verdict must be one of {sorted(words)}, got {verdict!r}")
    return words[verdict]
