"""The chapter's figures and its table of paired gains."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from synthbook import stats, tails
from synthbook.chapters.variability import experiment as runner
from synthbook.chapters.variability import shifts
from synthbook.plotting import OKABE_ITO, label_provenance, show_digits


def gains(
    rows: Sequence[dict[str, Any]],
    conditions: Sequence[tuple[str, int]],
    *,
    metric: str = "rare_recall",
    baseline: tuple[str, int] = ("none", 0),
) -> pd.DataFrame:
    """Paired differences ``condition - baseline`` on every test set, one row each.

    Columns: ``strategy``, ``amount``, ``test set``, ``mean``, ``low``,
    ``high`` (the 95% interval of the mean difference over seeds) and
    ``verdict`` (:func:`synthbook.stats.paired_difference`).
    """
    found = []
    for test_set in shifts.TEST_SETS:
        name = runner.metric_name(metric, test_set)
        for condition in conditions:
            gain = stats.paired_difference(list(rows), condition, baseline, name)
            found.append(
                {
                    "strategy": condition[0],
                    "amount": condition[1],
                    "test set": test_set,
                    **{k: gain[k] for k in ("mean", "low", "high", "verdict")},
                }
            )
    return pd.DataFrame(found)


def compare(
    rows: Sequence[dict[str, Any]],
    condition: tuple[str, int],
    baseline: tuple[str, int],
    test_set: str = "as collected",
    metric: str = "rare_recall",
) -> dict[str, Any]:
    """Paired difference ``condition - baseline`` on one test set, with its text.

    The result of :func:`synthbook.stats.paired_difference` plus ``"text"``:
    the mean and 95% interval as "+0.12 [+0.01, +0.23]".
    """
    name = runner.metric_name(metric, test_set)
    found = stats.paired_difference(list(rows), condition, baseline, name)
    found["text"] = stats.interval_text(found)
    return found


def plot_gains(table: pd.DataFrame, *, xlabel: str) -> Figure:
    """Draw each condition's paired gain with its 95% interval, one panel per test set."""
    sets = list(dict.fromkeys(table["test set"]))
    labels = list(dict.fromkeys(zip(table["strategy"], table["amount"], strict=True)))
    fig, axes = plt.subplots(
        1,
        len(sets),
        figsize=(2.6 * len(sets) + 1.6, 0.32 * len(labels) + 1.2),
        sharey=True,
        sharex=True,
    )
    # A change in recall lies between -1 and 1, but a t-interval of a few
    # seeds may reach past either end: show all of every interval.
    span = (min(-1.0, table["low"].min()) - 0.05, max(1.0, table["high"].max()) + 0.05)
    for i, (ax, test_set) in enumerate(zip(np.atleast_1d(axes), sets, strict=True)):
        part = table[table["test set"] == test_set]
        y = np.arange(len(part))[::-1]
        colour = np.where(part["verdict"] == "higher", OKABE_ITO[2], OKABE_ITO[7])
        colour = np.where(part["verdict"] == "lower", OKABE_ITO[5], colour)
        for yi, (_, row), c in zip(y, part.iterrows(), colour, strict=True):
            ax.plot([row["low"], row["high"]], [yi, yi], color=c, lw=2)
            ax.plot(row["mean"], yi, "o", color=c, ms=5)
        ax.axvline(0.0, color="0.5", lw=1, ls="--")
        ax.set_xlim(*span)
        ax.set_title(test_set, fontsize=10)
        ax.set_xlabel(xlabel if i == len(sets) // 2 else "")
        ax.set_yticks(y, [f"{s} +{a}" for s, a in labels])
    fig.tight_layout()
    return fig


def plot_shifts(images: torch.Tensor) -> Figure:
    """Show real test digits as collected, slanted and thickened (one row each)."""
    rows = torch.cat([images, shifts.slant(images), shifts.thicken(images)])
    fig = show_digits(rows, nrow=len(images), row_labels=list(shifts.TEST_SETS))
    label_provenance(fig.axes[0], "mixed")
    return fig


def plot_variability(sets: dict[str, torch.Tensor], *, reference: str) -> Figure:
    """Box plots of slant and ink for each named set of images of the rare digit.

    ``reference`` names the set of real images the others are compared with;
    its middle half is shaded across each panel.
    """
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 0.36 * len(sets) + 1.3), sharey=True)
    names = list(sets)
    for ax, measure in zip(axes, tails.STYLE_MEASURES, strict=True):
        values = [tails.style_scores(sets[name], measure) for name in names]
        low, high = np.percentile(values[names.index(reference)], [25, 75])
        ax.axvspan(low, high, color="0.9")
        ax.boxplot(
            values[::-1],
            vert=False,
            widths=0.6,
            showfliers=False,
            medianprops={"color": OKABE_ITO[5]},
        )
        ax.set_yticks(np.arange(1, len(names) + 1), names[::-1])
        ax.set_xlabel(
            {"slant": "slant (lean to the right)", "ink": "ink (stroke mass)"}[measure]
        )
    label_provenance(axes[1], "mixed")
    fig.tight_layout()
    return fig


def _label(strategy: str, amount: int) -> str:
    return f"{strategy} +{amount}"


def listing(labels: Sequence[str]) -> str:
    """Join labels as prose: "a", "a and b", "a, b and c"; "none" if empty."""
    if not labels:
        return "none"
    return (
        labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    )


def verdict_lists(table: pd.DataFrame) -> dict[str, dict[str, str]]:
    """For each test set, the conditions whose paired interval lies above / below zero."""
    found = {}
    for test_set, part in table.groupby("test set", sort=False):
        found[str(test_set)] = {
            verdict: listing(
                [
                    _label(r["strategy"], r["amount"])
                    for _, r in part[part["verdict"] == verdict].iterrows()
                ]
            )
            for verdict in ("higher", "lower")
        }
    return found


def largest_conditions(
    experiment: runner.TailExperiment, train: Any
) -> list[tuple[str, int]]:
    """Return the conditions at the largest amount (twice it for combinations)."""
    large = max(experiment.resolve_amounts(train))
    return [
        (s, a)
        for s, a in experiment.conditions(train)
        if s != "none" and a == (2 * large if "+" in s else large)
    ]


def price_table(
    rows: Sequence[dict[str, Any]], experiment: runner.TailExperiment, train: Any
) -> pd.DataFrame:
    """Paired changes in the rare digit's precision and in accuracy, largest amount.

    One row per condition, one column per test set and measure; each cell is
    "mean [low, high]" over seeds (against adding nothing).
    """
    table = {}
    for condition in largest_conditions(experiment, train):
        cells = {}
        for test_set in shifts.TEST_SETS:
            for metric, title in (
                ("rare_precision", "precision of the rare digit"),
                ("accuracy", "accuracy, all digits"),
            ):
                name = runner.metric_name(metric, test_set)
                gain = stats.paired_difference(list(rows), condition, metric=name)
                cells[test_set, title] = stats.interval_text(gain)
        table[_label(*condition)] = cells
    frame = pd.DataFrame(table).T
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame.rename_axis("added (vs nothing)")


def diagnostics_table(
    rows: Sequence[dict[str, Any]], experiment: runner.TailExperiment, train: Any
) -> pd.DataFrame:
    """Median over seeds of the judge's agreement and of closeness, per strategy."""
    table = {}
    for strategy, amount in largest_conditions(experiment, train):
        chosen = [
            r for r in rows if r["strategy"] == strategy and r["amount"] == amount
        ]
        table[strategy] = {
            "judge reads it": float(np.median([r["judge_agrees"] for r in chosen])),
            "closeness": float(np.median([r["closeness"] for r in chosen])),
        }
    return pd.DataFrame(table).T.round(2)


#: What each verdict of :func:`closeness_reading` says: the added images sit
#: nearer to, no nearer to, or further from the kept images than real images
#: of the digit that the tail left out.
CLOSENESS_WORDS = {
    "lower": (
        "nearer to the kept images than the real digits left out of the tail are: "
        "leaning towards copies of the kept images"
    ),
    "not distinguishable": (
        "no nearer to the kept images than the real digits left out of the tail "
        "are: no sign of copying by this measure"
    ),
    "higher": (
        "further from the kept images than the real digits left out of the tail "
        "are: no sign of copying by this measure"
    ),
}


def closeness_reading(
    rows: Sequence[dict[str, Any]], strategy: str, amount: int
) -> dict[str, Any]:
    """Judge how near ``strategy``'s added images sit to the kept ones, over seeds.

    Closeness (median distance to the kept images over median distance to as
    many held-out real images) has no natural cut-off, so the reference is the
    :data:`~synthbook.chapters.variability.REAL` condition at the same amount:
    real images the tail left out, which are new digits by construction. The
    verdict is the book's one rule, the paired 95% interval of
    ``strategy - real`` over seeds (:func:`synthbook.stats.paired_difference`):
    "lower" means nearer to the kept images than new real digits are.

    Returns ``value`` and ``real`` (mean closeness over seeds as
    "0.87 [0.80, 0.94]"), ``difference`` (the paired difference, same form),
    ``verdict`` and ``reading`` (:data:`CLOSENESS_WORDS`).
    """
    rows = list(rows)

    def interval(name: str) -> str:
        values = [
            r["closeness"]
            for r in rows
            if (r["strategy"], r["amount"]) == (name, amount)
        ]
        if not values:
            raise ValueError(
                f"no rows for strategy {name!r} at amount {amount}: check the "
                "strategy name and amount against the experiment's conditions"
            )
        mean, low, high = stats.mean_interval(values)
        return f"{mean:.2f} [{low:.2f}, {high:.2f}]"

    value, real = interval(strategy), interval(runner.REAL)
    found = stats.paired_difference(
        rows, (strategy, amount), (runner.REAL, amount), "closeness"
    )
    difference = stats.interval_text(found)
    return {
        "value": value,
        "real": real,
        "difference": difference,
        "verdict": found["verdict"],
        "reading": CLOSENESS_WORDS[found["verdict"]],
    }


def share_outside(
    sets: dict[str, torch.Tensor], reference: torch.Tensor
) -> dict[str, float]:
    """Share of each set's images whose slant or ink lies outside ``reference``'s range."""
    ranges = {
        m: (
            tails.style_scores(reference, m).min(),
            tails.style_scores(reference, m).max(),
        )
        for m in tails.STYLE_MEASURES
    }
    found = {}
    for name, images in sets.items():
        outside = np.zeros(len(images), dtype=bool)
        for measure, (low, high) in ranges.items():
            scores = tails.style_scores(images, measure)
            outside |= (scores < low) | (scores > high)
        found[name] = float(outside.mean())
    return found
