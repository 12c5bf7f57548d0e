"""The chapter "Variability, exposure and the odd": long tails and their refills.

- :mod:`.strategies`: the ways of filling a rare digit (long tails themselves
  come from :mod:`synthbook.tails`, shared with other chapters).
- :mod:`.shifts`: the shocks: test digits slanted and thickened.
- :mod:`.experiment`: the experiment over seeds, batched per seed.
- :mod:`.figures` and :mod:`.panel`: the chapter's figures, table and panels.
"""

from synthbook.chapters.variability.experiment import (
    EXAMPLES,
    REAL,
    TailExperiment,
    left_out,
    metric_name,
    run_one_seed,
    run_tail_experiment,
    score,
)
from synthbook.chapters.variability.figures import (
    CLOSENESS_WORDS,
    closeness_reading,
    compare,
    diagnostics_table,
    gains,
    largest_conditions,
    listing,
    plot_gains,
    plot_shifts,
    plot_variability,
    price_table,
    share_outside,
    verdict_lists,
)
from synthbook.chapters.variability.panel import live_panel, panel_frames, try_tail
from synthbook.chapters.variability.shifts import (
    SLANT_DEGREES,
    TEST_SETS,
    THICKEN_PIXELS,
    shifted_tests,
    slant,
    thicken,
)
from synthbook.chapters.variability.strategies import (
    EDGE_NOISE_SCALE,
    MAX_BLEND,
    STRATEGIES,
    SYNTHETIC,
    nearest_other_class,
    synthesize,
)
from synthbook.tails import (
    DIGITS,
    STYLE_MEASURES,
    TAIL_GAN_STEPS,
    load_or_train_tail_gan,
    long_tail_indices,
    make_long_tail,
    make_style_tail,
    perturb,
    style_scores,
)

__all__ = [
    "CLOSENESS_WORDS",
    "DIGITS",
    "EDGE_NOISE_SCALE",
    "EXAMPLES",
    "MAX_BLEND",
    "REAL",
    "SLANT_DEGREES",
    "STRATEGIES",
    "STYLE_MEASURES",
    "SYNTHETIC",
    "TAIL_GAN_STEPS",
    "TEST_SETS",
    "THICKEN_PIXELS",
    "TailExperiment",
    "closeness_reading",
    "compare",
    "diagnostics_table",
    "gains",
    "largest_conditions",
    "listing",
    "left_out",
    "live_panel",
    "load_or_train_tail_gan",
    "long_tail_indices",
    "make_long_tail",
    "make_style_tail",
    "metric_name",
    "nearest_other_class",
    "panel_frames",
    "perturb",
    "plot_gains",
    "plot_shifts",
    "plot_variability",
    "price_table",
    "run_one_seed",
    "run_tail_experiment",
    "score",
    "share_outside",
    "shifted_tests",
    "slant",
    "style_scores",
    "synthesize",
    "thicken",
    "try_tail",
    "verdict_lists",
]
