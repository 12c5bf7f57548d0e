"""Charts of the chapter: contested digits, margins, and the paired comparisons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from synthbook.chapters.separating_power.experiment import ShiftMeasures
from synthbook.chapters.separating_power.pool import RULES, SyntheticPool
from synthbook.plotting import OKABE_ITO, label_provenance, show_digits

#: Colour and marker of each kind of added digits in the comparison charts:
#: blues for real digits, warm colours for generated ones.
KIND_STYLE: dict[str, dict[str, str]] = {
    "real": {"color": OKABE_ITO[4], "marker": "D", "label": "held-out real 4s"},
    "oversampled": {
        "color": OKABE_ITO[1],
        "marker": "s",
        "label": "copies of real 4s (oversampled)",
    },
    "synthetic": {"color": OKABE_ITO[5], "marker": "^", "label": "synthetic 4s"},
    "balanced": {
        "color": OKABE_ITO[6],
        "marker": "v",
        "label": "synthetic 4s and 9s (balanced)",
    },
}
_ODDNESS_COLOURS = (OKABE_ITO[4], OKABE_ITO[5], OKABE_ITO[6], OKABE_ITO[7])
_METRIC_LABEL = {
    "accuracy": "change in accuracy\n(percentage points)",
    "auc": "change in ROC AUC\n(x 100)",
    "crossing": "boundary shift toward the 9s\n(% of the way from 4 to 9)",
}


def show_contested(pool: SyntheticPool, shown: Sequence[int]) -> Figure:
    """Draw synthetic digits with the label each rule gives them, one line per rule."""
    shown = list(shown)
    if not shown:
        raise ValueError("shown must name at least one digit of the pool")
    if pool.images is None:
        raise ValueError("this pool has no images to show")
    fig = show_digits(pool.images[shown], nrow=len(shown), provenance="synthetic")
    ax = fig.axes[0]
    rules = [r for r in RULES if r in pool.labels]
    ticks = [2 + 14 + i * 30 for i in range(len(shown))]
    ax.set_xticks(ticks)
    ax.set_xticklabels(
        ["\n".join(str(pool.labels[r][i]) for r in rules) for i in shown], fontsize=9
    )
    ax.tick_params(bottom=False)
    ax.set_xlabel("label under: " + ", ".join(rules) + " (top to bottom)", fontsize=8)
    fig.set_size_inches(fig.get_size_inches()[0], 1.9)
    fig.tight_layout()
    return fig


def plot_margins(shift: ShiftMeasures) -> Figure:
    """Cumulative distribution of the real test digits' probability margins."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.ecdf(shift.margin_before, color=OKABE_ITO[4], label="real data only")
    ax.ecdf(
        shift.margin_after,
        color=OKABE_ITO[5],
        linestyle="--",
        label="with synthetic digits added",
    )
    ax.axvline(0, color="grey", linewidth=0.8, linestyle=":")
    ax.set(
        xlabel="probability margin (right label minus wrong label)",
        ylabel="share of real test digits\nwith at most this margin",
        xlim=(-1, 1),
    )
    ax.legend(loc="upper left", fontsize=8)
    label_provenance(ax, "real")
    fig.tight_layout()
    return fig


def _scale(metric: str) -> float:
    return 100.0 if metric in ("accuracy", "auc", "crossing") else 1.0


def _select(table: Sequence[Mapping[str, Any]], **where: Any) -> list[Mapping]:
    rows = [r for r in table if all(r[k] == v for k, v in where.items())]
    return sorted(rows, key=lambda r: r["amount"])


def _errorbars(ax, rows, offset: float, scale: float, **style: Any) -> None:
    x = np.array([r["amount"] for r in rows], dtype=float) * (1 + offset)
    mean = np.array([r["mean"] for r in rows]) * scale
    low = np.array([r["low"] for r in rows]) * scale
    high = np.array([r["high"] for r in rows]) * scale
    ax.errorbar(x, mean, yerr=[mean - low, high - mean], capsize=3, **style)


def plot_controls(
    tables: Mapping[str, Sequence[Mapping[str, Any]]], *, oddness: float, rule: str
) -> Figure:
    """Paired change against real data only, per kind of added digits and amount.

    ``tables`` maps a metric to :func:`comparison_table` rows. One panel per
    metric; points are means over seeds, bars 95% intervals of the paired
    differences; the generated kinds are shown at ``oddness`` and ``rule``.
    """
    fig, axes = plt.subplots(
        1, len(tables), figsize=(3.4 * len(tables) + 0.6, 3.6), squeeze=False
    )
    offsets = dict(zip(KIND_STYLE, (-0.09, -0.03, 0.03, 0.09), strict=True))
    for ax, (metric, table) in zip(axes[0], tables.items(), strict=True):
        for kind, style in KIND_STYLE.items():
            where: dict[str, Any] = {"condition": kind, "against": "none"}
            if kind in ("synthetic", "balanced"):
                where |= {"oddness": oddness, "rule": rule}
            rows = _select(table, **where)
            _errorbars(ax, rows, offsets[kind], _scale(metric), linestyle="-", **style)
        ax.axhline(0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        amounts = sorted({r["amount"] for r in table})
        ax.set_xticks(amounts, [str(a) for a in amounts])
        ax.minorticks_off()
        ax.set(xlabel="digits added", ylabel=_METRIC_LABEL.get(metric, metric))
    axes[0, 0].legend(fontsize=8, frameon=False, loc="best")
    fig.tight_layout()
    return fig


def plot_sweep(
    tables: Mapping[str, Sequence[Mapping[str, Any]]], condition: str = "synthetic"
) -> Figure:
    """Every oddness and rule of ``condition``: paired change against real data only.

    One row per metric, one column per labelling rule, one line per oddness;
    points are means over seeds and bars 95% intervals.
    """
    first = next(iter(tables.values()))
    rules = [r for r in RULES if any(row["rule"] == r for row in first)]
    odds = sorted({row["oddness"] for row in first if row["condition"] == condition})
    fig, axes = plt.subplots(
        len(tables),
        len(rules),
        figsize=(3.0 * len(rules) + 0.8, 2.7 * len(tables)),
        sharex=True,
        sharey="row",
        squeeze=False,
    )
    markers = ("o", "s", "^", "D")
    for row, (metric, table) in enumerate(tables.items()):
        for col, rule in enumerate(rules):
            ax = axes[row, col]
            for i, odd in enumerate(odds):
                rows = _select(
                    table, condition=condition, rule=rule, oddness=odd, against="none"
                )
                _errorbars(
                    ax,
                    rows,
                    0.05 * (i - (len(odds) - 1) / 2),
                    _scale(metric),
                    color=_ODDNESS_COLOURS[i % 4],
                    marker=markers[i % 4],
                    label=f"oddness {odd:g}",
                )
            ax.axhline(0, color="grey", linewidth=0.8, linestyle=":")
            ax.set_xscale("log")
            amounts = sorted({r["amount"] for r in table})
            ax.set_xticks(amounts, [str(a) for a in amounts])
            ax.minorticks_off()
            if row == 0:
                ax.set_title(f"labelled by {rule}", fontsize=10)
            if row == len(tables) - 1:
                ax.set_xlabel("synthetic digits added")
        axes[row, 0].set_ylabel(_METRIC_LABEL.get(metric, metric))
    axes[0, -1].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def controls_markdown(
    table: Sequence[Mapping[str, Any]],
    *,
    oddness: float,
    rule: str,
    against: str = "none",
    scale: float = 100.0,
) -> str:
    """Return a Markdown table: a row per kind of added digits, a column per amount.

    Each cell is the mean paired difference against ``against``, its 95%
    interval and the verdict, from :func:`comparison_table` rows.
    """
    amounts = sorted({r["amount"] for r in table})
    lines = [
        "| added | " + " | ".join(f"+{a}" for a in amounts) + " |",
        "| --- |" + " --- |" * len(amounts),
    ]
    for kind, style in KIND_STYLE.items():
        where: dict[str, Any] = {"condition": kind, "against": against}
        if kind in ("synthetic", "balanced"):
            where |= {"oddness": oddness, "rule": rule}
        rows = {r["amount"]: r for r in _select(table, **where)}
        if not rows:
            continue
        cells = [
            f"{scale * rows[a]['mean']:+.1f} [{scale * rows[a]['low']:+.1f}, "
            f"{scale * rows[a]['high']:+.1f}] {rows[a]['verdict']}"
            if a in rows
            else "-"
            for a in amounts
        ]
        lines.append(f"| {style['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
