"""Separating power: decision boundaries that move when digits are added.

The chapter "Separating power" uses this package to make a classifier's lines
between digits visible, to move them, and to ask whether synthetic digits move
them for a better reason than real ones would. It is split along its seams:

:mod:`.geometry`
    the fixed 2-D view of a few confusable digits (:func:`build_problem`), the
    classifier trained in it (:func:`fit_classifier`), margins, ROC AUC and
    where the boundary crosses the line between the class means;
:mod:`.pool`
    the digits to add: synthetic ones (:func:`make_pool`) with their
    labelling rules (:data:`RULES`, :func:`assign_labels`), and real controls
    (:func:`real_pool`, :func:`oversampled_pool`);
:mod:`.experiment`
    one condition (:func:`run_condition`) and its measures of shift
    (:func:`shift_measures`, :func:`swept_region`);
:mod:`.controls`
    the repeated experiment with its controls (:func:`run_controls`) and its
    paired comparisons (:func:`comparison_table`);
:mod:`.figures`, :mod:`.charts`
    decision-region figures and charts, each saying what its points are;
:mod:`.wording`
    counts in words: number agreement (:func:`count_of`) and how many
    "higher" verdicts chance alone gives (:func:`chance_reading`);
:mod:`.panel`
    the static panel for the book (:func:`static_panel`) and the live one
    (:func:`boundary_panel`).

Everything public is importable from ``synthbook.chapters.separating_power``.
"""

from synthbook.chapters.separating_power.charts import (
    KIND_STYLE,
    controls_markdown,
    plot_controls,
    plot_margins,
    plot_sweep,
    show_contested,
)
from synthbook.chapters.separating_power.controls import (
    CONDITIONS,
    GENERATED,
    METRICS,
    ControlDesign,
    SeedRun,
    base_sample,
    compare,
    comparison_table,
    condition_key,
    conditions_with,
    format_difference,
    run_controls,
    run_seed,
    verdict_counts,
)
from synthbook.chapters.separating_power.experiment import (
    BoundaryResult,
    ShiftMeasures,
    run_condition,
    shift_measures,
    sweep,
    swept_region,
)
from synthbook.chapters.separating_power.figures import (
    class_colours,
    describe,
    draw_regions,
    figure_html,
    figure_png,
    legend_handles,
    render_boundary,
    shows,
    small_multiples,
    tag_figure,
)
from synthbook.chapters.separating_power.geometry import (
    CONFUSABLE,
    MODELS,
    PROJECTIONS,
    BoundaryProblem,
    boundary_crossing,
    build_problem,
    check_amount,
    check_choice,
    check_digits,
    decision_grid,
    fit_classifier,
    pixels_of,
    probability_margin,
    separation_auc,
)
from synthbook.chapters.separating_power.panel import (
    KIND_LABELS,
    boundary_panel,
    frame_for,
    static_panel,
)
from synthbook.chapters.separating_power.pool import (
    RULES,
    Judge,
    SyntheticPool,
    assign_labels,
    blend_plan,
    check_rule,
    judge_labels,
    make_pool,
    nearest_labels,
    oversampled_pool,
    points_pool,
    real_pool,
)
from synthbook.chapters.separating_power.wording import (
    chance_reading,
    chance_rises,
    count_of,
)

__all__ = [
    "CONDITIONS",
    "CONFUSABLE",
    "GENERATED",
    "KIND_LABELS",
    "KIND_STYLE",
    "METRICS",
    "MODELS",
    "PROJECTIONS",
    "RULES",
    "BoundaryProblem",
    "BoundaryResult",
    "ControlDesign",
    "Judge",
    "SeedRun",
    "ShiftMeasures",
    "SyntheticPool",
    "assign_labels",
    "base_sample",
    "blend_plan",
    "boundary_crossing",
    "boundary_panel",
    "chance_reading",
    "chance_rises",
    "build_problem",
    "check_amount",
    "check_choice",
    "check_digits",
    "check_rule",
    "class_colours",
    "compare",
    "comparison_table",
    "condition_key",
    "conditions_with",
    "controls_markdown",
    "count_of",
    "decision_grid",
    "describe",
    "draw_regions",
    "figure_html",
    "figure_png",
    "fit_classifier",
    "format_difference",
    "frame_for",
    "judge_labels",
    "legend_handles",
    "make_pool",
    "nearest_labels",
    "oversampled_pool",
    "pixels_of",
    "plot_controls",
    "points_pool",
    "plot_margins",
    "plot_sweep",
    "probability_margin",
    "real_pool",
    "render_boundary",
    "run_condition",
    "run_controls",
    "run_seed",
    "separation_auc",
    "shift_measures",
    "show_contested",
    "shows",
    "small_multiples",
    "static_panel",
    "sweep",
    "swept_region",
    "tag_figure",
    "verdict_counts",
]
