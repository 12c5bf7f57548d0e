"""Is it the synthetic digits, or just more 4s? The experiment with its controls.

Adding synthetic 4s moves the boundary partly because there are then *more 4s*.
:func:`run_controls` separates the two. For every seed it draws the classifier's
real training points (``base_per_class`` of each digit), trains the real-only
classifier, and retrains it after adding, in equal amounts:

``"synthetic"``
    generated ``source`` digits (e.g. 4s), at each oddness, labelled by each rule;
``"real"``
    real ``source`` digits the classifier never had (held out, e.g. the judge
    split's): what the same amount of new real data does;
``"oversampled"``
    copies of the classifier's own real ``source`` digits: more weight on the
    class, no new information;
``"balanced"``
    generated digits of every class in turn (4s and 9s), at each oddness,
    labelled by each rule: synthetic data without the shift toward one class.

Everything in a seed (the real training points, the generator's noise, the held
out and the copied digits) changes with the seed, and every condition of a seed
shares its real-only classifier, so conditions are compared *paired by seed*
with :func:`synthbook.stats.paired_difference`: "higher" or "lower" only when
the 95% interval of the difference excludes zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from synthbook import stats
from synthbook.chapters.separating_power.experiment import run_condition
from synthbook.chapters.separating_power.geometry import (
    MODELS,
    BoundaryProblem,
    check_amount,
    check_choice,
    fit_classifier,
)
from synthbook.chapters.separating_power.pool import (
    RULES,
    Judge,
    SyntheticPool,
    check_rule,
    make_pool,
    oversampled_pool,
    real_pool,
)
from synthbook.data import MnistData

#: What is added to the real training points, besides nothing ("none").
CONDITIONS: tuple[str, ...] = ("synthetic", "real", "oversampled", "balanced")
#: Conditions whose digits are generated (they have an oddness and a rule).
GENERATED: tuple[str, ...] = ("synthetic", "balanced")
#: Measures kept for every condition: accuracy and ROC AUC on real test digits,
#: the share of real test digits that flip, and the boundary's crossing point.
METRICS: tuple[str, ...] = ("accuracy", "auc", "flip_share", "crossing")


@dataclass(frozen=True)
class ControlDesign:
    """The settings of :func:`run_controls`.

    Attributes
    ----------
    source : int
        The digit that is added (synthetic, held out, or copied).
    amounts : tuple of int
        How many digits are added, in every condition alike.
    oddness : tuple of float
        Blend weights toward the other digit for the generated conditions.
    rules : tuple of str
        Labelling rules for the generated conditions.
    seeds : tuple of int
        One full repetition per seed; conditions are paired by seed.
    base_per_class : int
        Real training points of each digit the classifier gets in a seed,
        drawn at random from the training split.
    model : str
        The 2-D classifier (:data:`MODELS`).
    """

    source: int = 4
    amounts: tuple[int, ...] = (25, 50, 100)
    oddness: tuple[float, ...] = (0.0, 0.3, 0.5)
    rules: tuple[str, ...] = RULES
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    base_per_class: int = 250
    model: str = "logistic"

    def __post_init__(self) -> None:
        if not self.amounts or not self.seeds or not self.oddness or not self.rules:
            raise ValueError("amounts, oddness, rules and seeds each need a value")
        for amount in self.amounts:
            if check_amount(amount) < 1:
                raise ValueError(f"amounts must be 1 or more, got {list(self.amounts)}")
        for rule in self.rules:
            check_rule(rule)
        check_choice(self.model, MODELS, "model")
        check_amount(self.base_per_class)
        if len(self.seeds) < 2:
            raise ValueError(
                "seeds must hold at least two seeds for an interval (the book uses 5)"
            )


def condition_key(condition: str, oddness: float = 0.0, rule: str = "") -> str:
    """Return a unique name for one condition, used as ``strategy`` in rows.

    ``"none"``, ``"real"`` and ``"oversampled"`` stand alone; generated
    conditions carry their oddness and rule, e.g. ``"synthetic 0.3 judge"``.
    """
    if condition in GENERATED:
        return f"{condition} {float(oddness):g} {check_rule(rule)}"
    if condition not in ("none", "real", "oversampled"):
        raise ValueError(
            f"unknown condition {condition!r}: use none or one of {CONDITIONS}"
        )
    return condition


def base_sample(
    y: np.ndarray, digits: Sequence[int], per_class: int, seed: int
) -> np.ndarray:
    """Row indices of ``per_class`` random points of each digit (sorted)."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in digits:
        candidates = np.flatnonzero(np.asarray(y) == d)
        if per_class > len(candidates):
            raise ValueError(
                f"base_per_class={per_class} but the training split has only "
                f"{len(candidates)} real {d}s; choose at most {len(candidates)}"
            )
        rows.append(rng.choice(candidates, per_class, replace=False))
    return np.sort(np.concatenate(rows))


def _row(seed: int, condition: str, amount: int, result: Any, **extra: Any) -> dict:
    shift = result.shift
    return {
        "seed": seed,
        "strategy": condition_key(
            condition, extra.get("oddness") or 0.0, extra.get("rule", "")
        ),
        "condition": condition,
        "amount": amount,
        "oddness": extra.get("oddness"),
        "rule": extra.get("rule", ""),
        "accuracy": shift.accuracy_after,
        "auc": shift.auc_after,
        "flip_share": shift.flip_share,
        "crossing": shift.crossing_after,
    }


@dataclass(frozen=True, eq=False)
class SeedRun:
    """One seed of :func:`run_controls`: its rows, pools and real training rows."""

    rows: list[dict[str, Any]]
    pools: dict[str, SyntheticPool]
    base: np.ndarray


def run_seed(
    problem: BoundaryProblem,
    generator: torch.nn.Module,
    held_out: MnistData,
    design: ControlDesign,
    seed: int,
    *,
    judge: Judge | None = None,
) -> SeedRun:
    """Every condition of ``design`` for one seed.

    ``pools`` are keyed ``"real"``, ``"oversampled"`` and, per oddness,
    ``"synthetic 0.3"``, ``"balanced 0.3"``...; ``base`` indexes the rows of
    ``problem.train_xy`` the classifier was trained on.
    """
    base = base_sample(problem.train_y, problem.digits, design.base_per_class, seed)
    before = fit_classifier(
        problem.train_xy[base], problem.train_y[base], model=design.model, seed=seed
    )
    largest = max(design.amounts)
    mask = held_out.labels.numpy() == design.source
    if mask.sum() < largest:
        raise ValueError(
            f"amounts go up to {largest} but the held-out data have only "
            f"{int(mask.sum())} real {design.source}s; lower the amounts"
        )
    pools = {
        "real": real_pool(
            problem,
            held_out.images.numpy()[mask],
            held_out.labels.numpy()[mask],
            size=largest,
            seed=seed,
        ),
        "oversampled": oversampled_pool(
            problem.train_xy[base],
            problem.train_y[base],
            design.source,
            size=largest,
            seed=seed,
        ),
    }
    for odd in design.oddness:
        for condition in GENERATED:
            source = design.source if condition == "synthetic" else None
            pools[f"{condition} {odd:g}"] = make_pool(
                generator,
                problem,
                size=largest,
                oddness=odd,
                seed=seed,
                judge=judge,
                source=source,
            )

    def run(pool: SyntheticPool | None, amount: int, rule: str = RULES[0]) -> Any:
        return run_condition(
            problem,
            pool,
            amount=amount,
            rule=rule,
            model=design.model,
            seed=seed,
            before=before,
            train_index=base,
        )

    rows = [_row(seed, "none", 0, run(None, 0))]
    for amount in design.amounts:
        for condition in ("real", "oversampled"):
            rows.append(_row(seed, condition, amount, run(pools[condition], amount)))
        for odd in design.oddness:
            for condition in GENERATED:
                pool = pools[f"{condition} {odd:g}"]
                for rule in design.rules:
                    result = run(pool, amount, rule)
                    rows.append(
                        _row(seed, condition, amount, result, oddness=odd, rule=rule)
                    )
    return SeedRun(rows, pools, base)


def run_controls(
    problem: BoundaryProblem,
    generator: torch.nn.Module,
    held_out: MnistData,
    design: ControlDesign | None = None,
    *,
    judge: Judge | None = None,
) -> list[dict[str, Any]]:
    """Run every condition of ``design`` for every seed; one row per seed and condition.

    Parameters
    ----------
    problem : BoundaryProblem
        The fixed 2-D view with the real training and test points.
    generator : torch.nn.Module
        The conditional generator for the synthetic digits.
    held_out : MnistData
        Real images the classifier never had; the ``"real"`` control draws
        its digits from them (the book uses the judge split).
    design : ControlDesign, optional
        The settings (default: :class:`ControlDesign()`).
    judge : callable, optional
        Enables the ``"judge"`` labelling rule.
    """
    design = design or ControlDesign()
    if design.source not in problem.digits:
        raise ValueError(
            f"source digit {design.source} is not one of {list(problem.digits)}"
        )
    if "judge" in design.rules and judge is None:
        raise ValueError("the design uses the 'judge' rule: pass judge=...")
    rows: list[dict[str, Any]] = []
    for seed in design.seeds:
        rows += run_seed(problem, generator, held_out, design, seed, judge=judge).rows
    return rows


def compare(
    rows: list[dict[str, Any]],
    condition: tuple[str, int],
    baseline: tuple[str, int] = ("none", 0),
    metric: str = "accuracy",
) -> dict[str, Any]:
    """Paired difference ``condition - baseline`` over seeds, with its verdict.

    ``condition`` and ``baseline`` are ``(strategy, amount)`` pairs (see
    :func:`condition_key`). Returns :func:`synthbook.stats.paired_difference`'s
    ``mean``, ``low``, ``high``, ``n`` and ``verdict``.
    """
    check_choice(metric, METRICS, "metric")
    result = stats.paired_difference(rows, condition, baseline, metric=metric)
    if not all(np.isfinite(result[k]) for k in ("mean", "low", "high")):
        raise ValueError(
            f"{metric} is NaN or infinite for {condition} or {baseline} in some seed "
            "(for 'crossing': the boundary missed the segment between the class "
            "means); compare another metric"
        )
    return result


def comparison_table(
    rows: list[dict[str, Any]], metric: str = "accuracy"
) -> list[dict[str, Any]]:
    """Every generated condition against nothing added and against each control.

    One entry per generated condition, amount and baseline (``"none"``,
    ``"real"``, ``"oversampled"``, and for ``"synthetic"`` also the
    ``"balanced"`` pool of the same oddness and rule), plus the real controls
    against nothing added.
    """
    table = []
    keys = sorted(
        {
            (r["strategy"], r["condition"], r["oddness"], r["rule"], r["amount"])
            for r in rows
            if r["condition"] != "none"
        },
        key=lambda k: (k[4], CONDITIONS.index(k[1]), str(k[2]), k[3]),
    )
    for strategy, condition, odd, rule, amount in keys:
        baselines = [("none", 0)]
        if condition in GENERATED:
            baselines += [("real", amount), ("oversampled", amount)]
        if condition == "synthetic":
            baselines.append((condition_key("balanced", odd, rule), amount))
        for base in baselines:
            result = compare(rows, (strategy, amount), base, metric)
            table.append(
                {
                    "condition": condition,
                    "oddness": odd,
                    "rule": rule,
                    "amount": amount,
                    "against": base[0].split(" ")[0],
                    "metric": metric,
                    **result,
                }
            )
    return table


def verdict_counts(table: list[dict[str, Any]], **where: Any) -> dict[str, int]:
    """Count verdicts ("higher", "lower", "not distinguishable") among matching rows."""
    counts = {"higher": 0, "lower": 0, "not distinguishable": 0}
    for row in table:
        if all(row[k] == v for k, v in where.items()):
            counts[row["verdict"]] += 1
    return counts


def format_difference(
    result: Mapping[str, Any],
    *,
    scale: float = 100.0,
    unit: str = " points",
    decimals: int = 1,
) -> str:
    """Write a paired difference as ``"-1.6 points (95% interval -2.4 to -0.8)"``.

    ``scale`` multiplies the mean and the interval (100 turns a share into
    percentage points); the verdict is left to the caller.
    """
    mean, low, high = (scale * float(result[k]) for k in ("mean", "low", "high"))
    f = f"+.{decimals}f"
    return f"{mean:{f}}{unit} (95% interval {low:{f}} to {high:{f}})"


def conditions_with(
    table: list[dict[str, Any]],
    verdict: str,
    *,
    condition: str = "synthetic",
    against: str = "none",
) -> set[tuple[Any, str, int]]:
    """Return ``(oddness, rule, amount)`` of each ``condition`` with this verdict."""
    return {
        (r["oddness"], r["rule"], r["amount"])
        for r in table
        if (r["condition"], r["against"], r["verdict"]) == (condition, against, verdict)
    }
