"""Decision regions: the classifier's regions, the points, and the line that moved.

Every figure says what its points are: real training digits are dots, synthetic
digits triangles (crosses where the labelling rules disagree), added real
digits diamonds, and each panel carries a provenance tag
(:func:`synthbook.plotting.label_provenance`): real, synthetic or mixed.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image
from sklearn.inspection import DecisionBoundaryDisplay

from synthbook.chapters.separating_power.experiment import (
    BoundaryResult,
    run_condition,
)
from synthbook.chapters.separating_power.geometry import (
    BoundaryProblem,
    check_digits,
    decision_grid,
    fit_classifier,
)
from synthbook.chapters.separating_power.pool import RULES, SyntheticPool, check_rule
from synthbook.plotting import OKABE_ITO, label_provenance

# Orange, blue, green from Okabe-Ito: the most distinct trio for colour-blind readers.
_CLASS_COLOURS = (OKABE_ITO[0], OKABE_ITO[4], OKABE_ITO[2])


def class_colours(digits: Sequence[int]) -> dict[int, str]:
    """Okabe-Ito colour of each digit of the set, in order."""
    return dict(zip(check_digits(digits), _CLASS_COLOURS, strict=False))


def _light(colour: str, amount: float = 0.72) -> tuple[float, float, float]:
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _region_index(model: Any, digits: tuple[int, ...], points: np.ndarray):
    # Index of the predicted digit in `digits`, so colours follow the digit set.
    lookup = np.full(10, -1)
    lookup[list(digits)] = np.arange(len(digits))
    return lookup[model.predict(points).astype(int)]


def _scatter_added(ax: Axes, xy, y, contested, provenance, colours) -> None:
    odd = np.zeros(len(xy), bool) if contested is None else contested
    for d, colour in colours.items():
        if provenance == "real":
            groups = [((y == d), "D", 22, "black")]
        else:
            groups = [
                ((y == d) & ~odd, "^", 28, "black"),
                ((y == d) & odd, "X", 42, "black"),
            ]
        for mask, marker, size, edge in groups:
            ax.scatter(
                xy[mask, 0],
                xy[mask, 1],
                s=size,
                marker=marker,
                color=colour,
                edgecolors=edge,
                linewidths=0.4,
                zorder=3,
            )


def draw_regions(
    ax: Axes,
    classifier: Any,
    problem: BoundaryProblem,
    *,
    synthetic_xy: np.ndarray | None = None,
    synthetic_y: np.ndarray | None = None,
    contested: np.ndarray | None = None,
    flipped: np.ndarray | None = None,
    reference: Any = None,
    title: str | None = None,
    resolution: int = 200,
    show_real: bool = True,
    added_provenance: str = "synthetic",
    tag: bool = True,
) -> Axes:
    """Draw a 2-D classifier's decision regions with real and added points.

    Regions are filled in a light tint of each digit's colour. Real training
    digits are small circles; added synthetic digits are triangles, or crosses
    (``X``) when the labelling rules disagree about them; added real digits
    (``added_provenance="real"``) are black-edged diamonds; real test digits
    whose predicted label flipped are large black-edged stars in the colour of
    their *new* label. ``reference`` (e.g. the real-only classifier) is drawn as
    a dashed line so the move is visible. With ``tag``, the axes get a
    provenance tag (real, synthetic or mixed, from what they show).
    """
    digits = problem.digits
    colours = class_colours(digits)
    xx, yy = decision_grid(problem, resolution)
    grid_points = np.c_[xx.ravel(), yy.ravel()]
    index = _region_index(classifier, digits, grid_points).reshape(xx.shape)
    light = [_light(colours[d]) for d in digits]
    levels = np.arange(len(digits) + 1) - 0.5
    display = DecisionBoundaryDisplay(
        xx0=xx,
        xx1=yy,
        n_classes=len(digits),
        response=index,
        multiclass_colors=light,
        xlabel="view axis 1",
        ylabel="view axis 2",
    )
    # scikit-learn colours binary problems with `cmap`, multiclass ones with
    # `multiclass_colors`; give both the same light tints.
    extra = {"cmap": ListedColormap(light)} if len(digits) == 2 else {}
    display.plot(ax=ax, plot_method="contourf", levels=levels, **extra)
    ax.contour(xx, yy, index, levels=levels[1:-1], colors="black", linewidths=1.4)
    if reference is not None:
        old = _region_index(reference, digits, grid_points).reshape(xx.shape)
        ax.contour(
            xx,
            yy,
            old,
            levels=levels[1:-1],
            colors="black",
            linewidths=1.2,
            linestyles="--",
        )
    if show_real:
        for d in digits:
            pts = problem.train_xy[problem.train_y == d]
            ax.scatter(
                pts[:, 0],
                pts[:, 1],
                s=9,
                marker="o",
                color=colours[d],
                alpha=0.55,
                linewidths=0,
                zorder=2,
            )
    added = synthetic_xy is not None and len(synthetic_xy) > 0
    if added:
        _scatter_added(
            ax, synthetic_xy, synthetic_y, contested, added_provenance, colours
        )
    if flipped is not None and np.any(flipped):
        new = classifier.predict(problem.test_xy[flipped])
        ax.scatter(
            problem.test_xy[flipped, 0],
            problem.test_xy[flipped, 1],
            s=170,
            marker="*",
            c=[colours[int(d)] for d in new],
            edgecolors="black",
            linewidths=1.0,
            zorder=5,
        )
    x0, x1, y0, y1 = problem.limits()
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    if tag:
        label_provenance(ax, shows(show_real, flipped, added, added_provenance))
    return ax


def shows(
    show_real: bool, flipped: np.ndarray | None, added: bool, added_provenance: str
) -> str:
    """Say what a regions plot shows: ``"real"``, ``"synthetic"`` or ``"mixed"``."""
    real = show_real or (flipped is not None and bool(np.any(flipped)))
    if added and added_provenance == "synthetic":
        return "mixed" if real else "synthetic"
    return "real"


def tag_figure(fig: Figure, provenance: str) -> None:
    """Put one provenance tag at the top right of a whole figure."""
    strip = fig.add_axes((0.0, 0.97, 0.995, 0.02))
    strip.axis("off")
    label_provenance(strip, provenance)


def legend_handles(
    digits: Sequence[int],
    *,
    before_line: bool = True,
    added: str = "synthetic",
    added_digits: Sequence[int] | None = None,
) -> list[Line2D]:
    """Legend entries for :func:`draw_regions` (markers and line styles).

    ``added`` is ``"synthetic"``, ``"real"`` or ``"none"``: which added points
    the figure shows; ``added_digits`` limits their entries to those digits.
    """
    colours = class_colours(digits)
    shown = colours if added_digits is None else {d: colours[d] for d in added_digits}

    def entry(label: str, **style: Any) -> Line2D:
        return Line2D([], [], linestyle="", label=label, **style)

    handles = [
        entry(f"real {d}", marker="o", color=c, markersize=5)
        for d, c in colours.items()
    ]
    if added == "synthetic":
        handles += [
            entry(
                f"synthetic, labelled {d}",
                marker="^",
                color=c,
                markersize=7,
                markeredgecolor="black",
                markeredgewidth=0.4,
            )
            for d, c in shown.items()
        ]
        handles.append(
            entry(
                "synthetic, rules disagree",
                marker="X",
                color="grey",
                markersize=8,
                markeredgecolor="grey",
            )
        )
    elif added == "real":
        handles += [
            entry(f"added real {d}", marker="D", color=c, markeredgecolor="black")
            for d, c in shown.items()
        ]
    handles.append(
        entry(
            "real test digit that flipped",
            marker="*",
            color="grey",
            markersize=13,
            markeredgecolor="black",
        )
    )
    handles.append(Line2D([], [], color="black", linewidth=1.4, label="boundary"))
    if before_line:
        handles.append(
            Line2D(
                [],
                [],
                color="black",
                linewidth=1.2,
                linestyle="--",
                label="boundary, real data only",
            )
        )
    return handles


def describe(result: BoundaryResult) -> str:
    """Alt text for :func:`render_boundary`, computed from the result."""
    p, s = result.problem, result.shift
    names = [str(d) for d in p.digits]
    digits = ", ".join(names[:-1]) + " and " + names[-1]
    model = {"logistic": "a logistic-regression", "mlp": "a small neural-network"}[
        result.model
    ]
    if result.amount == 0:
        change = "No digits were added, so the boundary does not move."
    elif result.provenance == "real":
        change = (
            f"Right: the same after adding {result.amount} real digits, drawn as "
            f"diamonds, with the old boundary dashed; {int(s.flipped.sum())} of "
            f"{len(s.test_y)} real test digits ({s.flip_share:.0%}) change "
            "predicted label, drawn as stars."
        )
    else:
        change = (
            f"Right (mixed real and synthetic): the same after adding "
            f"{result.amount} synthetic digits labelled by the {result.rule} rule, "
            f"drawn as triangles, with the old boundary dashed; "
            f"{int(s.flipped.sum())} of {len(s.test_y)} real test digits "
            f"({s.flip_share:.0%}) change predicted label, drawn as stars."
        )
    return (
        f"Two decision-region plots of {model} classifier for the digits {digits} "
        f"in a fixed 2-D {p.projection_name.upper()} view. Left (real digits): "
        f"trained on {len(p.train_y)} real digits only, drawn as dots in each "
        f"digit's colour. {change} Accuracy on real test digits goes from "
        f"{s.accuracy_before:.1%} to {s.accuracy_after:.1%}."
    )


def render_boundary(
    problem: BoundaryProblem,
    pool: SyntheticPool | None,
    *,
    amount: int = 200,
    rule: str = "conditioning",
    model: str = "logistic",
    seed: int = 0,
    resolution: int = 160,
) -> Figure:
    """Draw one condition: real-only classifier (left) and with added digits (right).

    A pure function of its arguments (no widget state): tests call it directly
    and the panels only wire controls to it. The numbers are in the titles.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.synthbook_result`` set to the :class:`BoundaryResult` and
        ``fig.synthbook_alt`` to its alt text.
    """
    result = run_condition(
        problem, pool, amount=amount, rule=rule, model=model, seed=seed
    )
    shift = result.shift
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(9.2, 4.3), sharex=True, sharey=True
    )
    draw_regions(
        left,
        result.before,
        problem,
        resolution=resolution,
        title=f"real only: accuracy {shift.accuracy_before:.1%}",
    )
    real = result.provenance == "real"
    what = "real" if real else "synthetic"
    draw_regions(
        right,
        result.after,
        problem,
        synthetic_xy=result.synthetic_xy,
        synthetic_y=result.synthetic_y,
        contested=result.contested,
        flipped=shift.flipped,
        reference=result.before,
        resolution=resolution,
        title=f"+{amount} {what}: accuracy {shift.accuracy_after:.1%}",
        added_provenance=result.provenance,
    )
    fig.legend(
        handles=legend_handles(problem.digits, added=result.provenance),
        loc="lower center",
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    labelled = "" if real else f"labelled by the {rule} rule: "
    fig.suptitle(
        f"{labelled}{shift.flipped.sum()} of {len(shift.test_y)} real test digits "
        f"flip ({shift.flip_share:.1%})",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.synthbook_result = result  # type: ignore[attr-defined]
    fig.synthbook_alt = describe(result)  # type: ignore[attr-defined]
    return fig


def small_multiples(
    problem: BoundaryProblem,
    pool: SyntheticPool,
    *,
    amounts: Sequence[int] = (0, 100, 200, 400),
    rules: Sequence[str] = RULES,
    model: str = "logistic",
    seed: int = 0,
    resolution: int = 120,
) -> Figure:
    """Draw decision regions in a grid: a row per labelling rule, a column per amount.

    Each panel shows the added synthetic digits and the real test digits that
    flipped (so the panels with added digits show mixed data).
    """
    for rule in rules:
        check_rule(rule)
    before = fit_classifier(problem.train_xy, problem.train_y, model=model, seed=seed)
    fig, axes = plt.subplots(
        len(rules),
        len(amounts),
        figsize=(2.3 * len(amounts) + 0.4, 2.3 * len(rules) + 1.0),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for row, rule in enumerate(rules):
        for col, amount in enumerate(amounts):
            result = run_condition(
                problem,
                pool,
                amount=amount,
                rule=rule,
                model=model,
                seed=seed,
                before=before,
            )
            ax = axes[row, col]
            draw_regions(
                ax,
                result.after,
                problem,
                synthetic_xy=result.synthetic_xy,
                synthetic_y=result.synthetic_y,
                contested=result.contested,
                flipped=result.shift.flipped,
                reference=before,
                resolution=resolution,
                show_real=False,
                title=f"+{amount} added, {int(result.shift.flipped.sum())} flipped",
                added_provenance=pool.provenance,
                tag=False,
            )
            ax.set(xlabel="", ylabel="")
            if col == 0:
                ax.set_ylabel(rule, fontsize=10)
    fig.legend(
        handles=legend_handles(problem.digits)[2:],
        loc="lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 0.96))
    tag_figure(fig, "mixed" if pool.provenance == "synthetic" else "real")
    return fig


def figure_png(fig: Figure, *, dpi: int = 80, colours: int | None = None) -> bytes:
    """Encode a figure as PNG bytes and close it.

    ``colours`` reduces the picture to that many colours (an adaptive
    palette), which makes flat-coloured plots several times smaller.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    if colours is None:
        return buffer.getvalue()
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(colours, dither=Image.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def figure_html(fig: Figure, alt: str, *, dpi: int = 80) -> str:
    """Encode a figure as an ``<img>`` tag with alt text, and close it."""
    if not alt.strip():
        raise ValueError("alt text must describe the image; it cannot be empty")
    data = base64.b64encode(figure_png(fig, dpi=dpi)).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
