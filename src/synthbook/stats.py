"""Summaries over seeds: means, Student-t intervals and paired differences.

Every experimental chapter repeats its runs over seeds and reports a mean with a
95% interval; comparisons are paired by seed. The rule for "better" is the same
everywhere: an interval that excludes no effect (zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

ROW_KEYS = ("seed", "strategy", "amount")


def check_rows(rows: Sequence[Any], metric: str) -> list[Mapping[str, Any]]:
    """Return ``rows`` as a list after checking each is a result row with ``metric``.

    A row is a mapping with ``seed``, ``strategy``, ``amount`` and the metric,
    as :func:`synthbook.chapters.variability.run_tail_experiment` returns them.
    """
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise TypeError(
            f"rows must be a list of result rows (dicts), got {type(rows).__name__}"
        )
    if not rows:
        raise ValueError(
            "rows: none given; pass the rows the experiment returned "
            "(for example rows = variability.run_tail_experiment(experiment))"
        )
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(
                f"rows[{index}] must be a result row (a dict with "
                f"{', '.join(ROW_KEYS)} and {metric!r}), got {row!r}"
            )
        missing = [key for key in (*ROW_KEYS, metric) if key not in row]
        if missing:
            raise ValueError(
                f"rows[{index}] has no {', '.join(map(repr, missing))}; "
                f"metric must be one of the row's keys: {sorted(map(str, row))}"
            )
    return list(rows)


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Return the mean and its 95% Student-t interval: ``(mean, low, high)``.

    The interval is mean +/- t(0.975, n-1) * sd / sqrt(n); with one value it
    has zero width.
    """
    from scipy import stats

    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(
            f"values must be a non-empty list of numbers, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(
            f"values must be finite numbers (no NaN or inf), got {values!r}"
        )
    n = len(array)
    half = (
        float(stats.t.ppf(0.975, n - 1) * array.std(ddof=1) / np.sqrt(n))
        if n > 1
        else 0.0
    )
    mean = float(array.mean())
    return mean, mean - half, mean + half


def summarise(
    rows: list[dict[str, Any]], metric: str = "rare_recall"
) -> list[dict[str, Any]]:
    """Mean and 95% confidence interval of ``metric`` per (strategy, amount) over seeds.

    The interval is mean +/- t(0.975, n-1) * sd / sqrt(n), from Student's t.
    """
    groups: dict[tuple[str, int], list[float]] = {}
    for row in check_rows(rows, metric):
        groups.setdefault((row["strategy"], row["amount"]), []).append(
            float(row[metric])
        )
    summary = []
    for (strategy, amount), values in groups.items():
        mean, low, high = mean_interval(values)
        summary.append(
            {
                "strategy": strategy,
                "amount": amount,
                "n": len(values),
                "mean": mean,
                "low": low,
                "high": high,
            }
        )
    return summary


def paired_difference(
    rows: list[dict[str, Any]],
    condition: tuple[str, int],
    baseline: tuple[str, int] = ("none", 0),
    metric: str = "rare_recall",
) -> dict[str, Any]:
    """Mean per-seed difference ``condition - baseline`` of ``metric``, with a 95% interval.

    Every seed runs every condition on the same kept images (and the same
    GAN), so differences within a seed remove the large seed-to-seed swings
    that an unpaired comparison of two intervals would include.

    Parameters
    ----------
    rows : list of dict
        Rows from :func:`run_tail_experiment`.
    condition, baseline : (strategy, amount)
        The two conditions to compare.
    metric : str, default "rare_recall"

    Returns
    -------
    dict
        ``mean``, ``low``, ``high`` (of the difference), ``n`` (paired
        seeds) and ``verdict``: "higher" or "lower" when the interval
        excludes 0, else "not distinguishable".

    Raises
    ------
    ValueError
        If either condition is missing from ``rows`` for every seed.
    """
    rows = check_rows(rows, metric)

    def by_seed(which: tuple[str, int]) -> dict[int, float]:
        return {
            int(r["seed"]): float(r[metric])
            for r in rows
            if (r["strategy"], int(r["amount"])) == (which[0], int(which[1]))
        }

    ours, theirs = by_seed(condition), by_seed(baseline)
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        raise ValueError(
            f"no seed has both {condition} and {baseline}: "
            "check the strategy names and amounts against the experiment"
        )
    mean, low, high = mean_interval([ours[s] - theirs[s] for s in seeds])
    verdict = "higher" if low > 0 else "lower" if high < 0 else "not distinguishable"
    return {"mean": mean, "low": low, "high": high, "n": len(seeds), "verdict": verdict}


def signed(value: float, digits: int = 2) -> str:
    """Format a difference with its sign: ``+0.12``; never ``-0.00`` or ``+0.00``.

    A nonzero value that rounds to zero at ``digits`` gets the digits it needs
    to show its sign (``-0.002``), so that an interval that excludes zero does
    not print a bound of "-0.00"; zero itself prints as ``0.00``.
    """
    value = float(value)
    if value == 0:
        return f"{0:.{digits}f}"
    shown = digits
    while round(value, shown) == 0 and shown < digits + 4:
        shown += 1
    return f"{value:+.{shown}f}"


def interval_text(found: dict[str, Any], digits: int = 2) -> str:
    """``"+0.12 [+0.01, +0.23]"`` from a dict with ``mean``, ``low`` and ``high``."""
    mean, low, high = (signed(found[key], digits) for key in ("mean", "low", "high"))
    return f"{mean} [{low}, {high}]"
