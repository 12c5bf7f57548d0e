"""Panels to move the line yourself: a static one for the book, a live one for Jupyter.

:func:`static_panel` precomputes a picture for every setting of a small grid and
hands them to :func:`synthbook.widgets.precomputed_panel`, so the controls work
in the static HTML without a kernel. :func:`boundary_panel` is the live version
(ipywidgets, needs a running kernel) with the full range of settings.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from synthbook import widgets as panels
from synthbook.chapters.separating_power.controls import (
    GENERATED,
    ControlDesign,
    format_difference,
    run_seed,
)
from synthbook.chapters.separating_power.experiment import run_condition
from synthbook.chapters.separating_power.figures import (
    draw_regions,
    figure_html,
    figure_png,
    legend_handles,
    render_boundary,
)
from synthbook.chapters.separating_power.geometry import (
    CONFUSABLE,
    MODELS,
    BoundaryProblem,
    build_problem,
)
from synthbook.chapters.separating_power.pool import (
    RULES,
    Judge,
    SyntheticPool,
    make_pool,
)
from synthbook.data import MnistData

#: Resolution of the static panel's pictures (a 4.4-inch figure is 352 pixels wide).
PANEL_DPI = 80
#: What the static panel's menu calls each kind of added digits.
KIND_LABELS: dict[str, str] = {
    "synthetic": "synthetic {d}s",
    "real": "held-out real {d}s",
    "oversampled": "copies of real {d}s",
    "balanced": "synthetic {d}s and {e}s",
}


def _interval(
    result: Mapping[str, Any], unit: str, scale: float = 100, decimals: int = 1
) -> str:
    text = format_difference(result, unit=unit, scale=scale, decimals=decimals)
    return f"{text}: {result['verdict']}"


def _lookup(table, condition: str, amount: int, odd, rule, against: str):
    for row in table:
        if (
            row["condition"] == condition
            and row["amount"] == amount
            and row["against"] == against
            and (
                condition not in GENERATED
                or (row["oddness"], row["rule"]) == (odd, rule)
            )
        ):
            return row
    raise KeyError((condition, amount, odd, rule, against))


def frame_for(
    problem: BoundaryProblem,
    pool: SyntheticPool,
    base: np.ndarray,
    *,
    condition: str,
    amount: int,
    oddness: float,
    rule: str,
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    seed: int,
    n_seeds: int,
) -> dict[str, Any]:
    """One picture of the static panel, its alt text and its computed sentence."""
    shown = problem.with_train(base)
    result = run_condition(shown, pool, amount=amount, rule=rule, seed=seed)
    shift = result.shift
    d, e = problem.digits[:2]
    what = KIND_LABELS[condition].format(d=d, e=e)
    if condition in GENERATED:
        what += f" (oddness {oddness:g}, labelled by {rule})"
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    draw_regions(
        ax,
        result.after,
        shown,
        synthetic_xy=result.synthetic_xy,
        synthetic_y=result.synthetic_y,
        contested=result.contested,
        flipped=shift.flipped,
        reference=result.before,
        resolution=120,
        title=f"+{amount} {what.split(' (')[0]}, seed {seed}",
        added_provenance=pool.provenance,
    )
    ax.set(xlabel="", ylabel="")
    added = sorted(set(result.synthetic_y.tolist()))
    fig.legend(
        handles=legend_handles(
            problem.digits, added=pool.provenance, added_digits=added
        ),
        loc="lower center",
        ncol=2,
        fontsize=7.5,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    png = figure_png(fig, dpi=PANEL_DPI, colours=24)
    mixed = "real and synthetic" if pool.provenance == "synthetic" else "real"
    flips = int(shift.flipped.sum())
    stars = (
        "no real test digit changed label"
        if flips == 0
        else f"{flips} real test digit{'s' if flips > 1 else ''} that changed label "
        "are drawn as stars"
    )
    alt = (
        f"Decision regions of the logistic regression for {d}s and {e}s, seed {seed}, "
        f"after adding {amount} {what}; shows {mixed} digits. The dashed line is the "
        f"boundary from real digits only; {stars}."
    )
    sentences = [
        f"Seed {seed}: {int(shift.flipped.sum())} of {len(shift.test_y)} real test "
        f"digits change label; accuracy {shift.accuracy_before:.1%} to "
        f"{shift.accuracy_after:.1%}."
    ]
    odd, key = (oddness, rule) if condition in GENERATED else (None, "")
    acc = _lookup(tables["accuracy"], condition, amount, odd, key, "none")
    auc = _lookup(tables["auc"], condition, amount, odd, key, "none")
    sentences.append(
        f"Over {n_seeds} seeds, against real data only: accuracy "
        f"{_interval(acc, ' points')}; ROC AUC {_interval(auc, '', 1, 4)}."
    )
    if condition == "synthetic":
        real = _lookup(tables["accuracy"], condition, amount, odd, key, "real")
        sentences.append(
            f"Against as many held-out real {d}s: accuracy "
            f"{_interval(real, ' points')}."
        )
    return {"png": png, "alt": alt, "text": " ".join(sentences)}


def static_panel(
    problem: BoundaryProblem,
    generator: torch.nn.Module,
    held_out: MnistData,
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
    design: ControlDesign,
    *,
    judge: Judge | None = None,
    oddness: Sequence[float] | None = None,
) -> Any:
    """Return a panel that works without a kernel: a small grid, precomputed.

    The grid is the experiment's: the kinds of added digits, its amounts,
    ``oddness`` (default: all of the design's) and rules, for the design's
    first seed; each picture's sentence gives the paired intervals
    over all seeds from ``tables`` (:func:`comparison_table` per metric).
    """
    seed = design.seeds[0]
    odds = tuple(design.oddness if oddness is None else oddness)
    unknown = set(odds) - set(design.oddness)
    if unknown or not odds:
        raise ValueError(
            f"oddness must be some of the design's {design.oddness}, got {odds}"
        )
    run = run_seed(problem, generator, held_out, design, seed, judge=judge)
    pools, base = run.pools, run.base
    d, e = problem.digits[:2]
    kinds = [(KIND_LABELS[k].format(d=d, e=e), k) for k in KIND_LABELS]
    controls = [
        ("added", "digits added", kinds),
        ("amount", "how many", [(str(a), a) for a in design.amounts]),
        ("oddness", "oddness of synthetic digits", [(f"{o:g}", o) for o in odds]),
        ("rule", "synthetic digits labelled by", [(r, r) for r in design.rules]),
    ]
    frames: dict[tuple[Any, ...], dict[str, Any]] = {}
    for kind, amount, odd, rule in itertools.product(
        KIND_LABELS, design.amounts, odds, design.rules
    ):
        first = (kind, amount, odds[0], design.rules[0])
        if kind not in GENERATED and (odd, rule) != first[2:]:
            # Real digits have no oddness and need no rule: one picture for all.
            frames[(kind, amount, odd, rule)] = frames[first]
            continue
        frames[(kind, amount, odd, rule)] = frame_for(
            problem,
            pools[f"{kind} {odd:g}" if kind in GENERATED else kind],
            base,
            condition=kind,
            amount=amount,
            oddness=odd,
            rule=rule,
            tables=tables,
            seed=seed,
            n_seeds=len(design.seeds),
        )
    title = f"Move the line: what is added to the real {d}s and {e}s"
    return panels.precomputed_panel(controls, frames, title=title)


def boundary_panel(
    train: MnistData,
    test: MnistData,
    generator: torch.nn.Module,
    *,
    judge: Judge | None = None,
    digits: Sequence[int] = (4, 9),
    amount: int = 200,
    oddness: float = 0.3,
    rule: str = "conditioning",
    first_only: bool = True,
    pool_size: int = 400,
    seed: int = 0,
) -> widgets.VBox:
    """Return a live ipywidgets panel: digits, requests, amount, oddness, rule, model.

    It needs a running kernel (each change retrains and redraws in Python), and
    offers the full range: any of :data:`CONFUSABLE`, up to ``pool_size``
    synthetic digits, any oddness from 0 to 0.5. ``first_only`` asks the
    generator only for the first digit of the set (each blended toward the
    next); otherwise it asks for every digit in turn.
    """
    problems: dict[tuple[int, ...], BoundaryProblem] = {}
    pools: dict[tuple[tuple[int, ...], float, bool], SyntheticPool] = {}

    def get_pool(chosen: tuple[int, ...], odd: float, first: bool):
        # Projections and pools are cheap but not free: keep each one once made.
        if chosen not in problems:
            problems[chosen] = build_problem(train, test, chosen)
        key = (chosen, round(odd, 3), first)
        if key not in pools:
            pools[key] = make_pool(
                generator,
                problems[chosen],
                size=pool_size,
                oddness=odd,
                seed=seed,
                judge=judge,
                source=chosen[0] if first else None,
            )
        return problems[chosen], pools[key]

    style = {"description_width": "110px"}
    sets = (
        list(CONFUSABLE)
        if tuple(digits) in CONFUSABLE
        else [tuple(digits), *CONFUSABLE]
    )
    controls = {
        "digits": widgets.Dropdown(
            options=[(" / ".join(map(str, s)), s) for s in sets],
            value=tuple(digits),
            description="digits",
            style=style,
        ),
        "first": widgets.Dropdown(
            options=[("first digit only", True), ("every digit", False)],
            value=first_only,
            description="ask for",
            style=style,
        ),
        "amount": widgets.IntSlider(
            value=amount,
            min=0,
            max=pool_size,
            step=25,
            description="synthetic added",
            style=style,
        ),
        "oddness": widgets.FloatSlider(
            value=oddness,
            min=0.0,
            max=0.5,
            step=0.05,
            description="oddness (blend)",
            style=style,
        ),
        "rule": widgets.ToggleButtons(
            options=[r for r in RULES if r != "judge" or judge is not None],
            value=rule,
            description="labelled by",
            style=style,
        ),
        "model": widgets.ToggleButtons(
            options=list(MODELS),
            value="logistic",
            description="classifier",
            style=style,
        ),
    }
    output, numbers = widgets.HTML(), widgets.HTML()

    def redraw(_change: object = None) -> None:
        c = controls
        problem, pool = get_pool(
            c["digits"].value, c["oddness"].value, c["first"].value
        )
        fig = render_boundary(
            problem,
            pool,
            amount=c["amount"].value,
            rule=c["rule"].value,
            model=c["model"].value,
            seed=seed,
        )
        summary = fig.synthbook_result.shift.summary()  # type: ignore[attr-defined]
        output.value = figure_html(fig, fig.synthbook_alt)  # type: ignore[attr-defined]
        numbers.value = "<pre>" + html.escape(summary) + "</pre>"

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.VBox(list(controls.values())), output, numbers])
