"""Precision, portability and the generated anomaly: three small experiments.

The chapter "Precision, portability and the generated anomaly" turns two
shifts that Wiehn and Steinhoff name in a conference abstract, and a question
Jacobsen leaves open, into experiments on the digits. The package is split
along the chapter's sections:

:mod:`.bespoke`
    *precision*: bespoke GANs trained on a few real images per digit
    (:func:`bespoke_sets`) and classifiers trained on them
    (:func:`precision_rows`);
:mod:`.portability`
    *portability*: the membership attacks on each bespoke GAN
    (:func:`bespoke_attacks`), one attack on two GANs compared
    (:func:`auc_difference`), and the wording of the results;
:mod:`.anomaly`
    *the generated anomaly*: detectors that learn "odd" from a generator
    (:func:`anomaly_flags`), whether they single out real unusual handwriting
    (:func:`style_groups`, :func:`flag_gap`), and a same-setting control
    (:func:`agreement_gap`).

Everything public is importable from ``synthbook.chapters.precision``.
"""

from synthbook.chapters.precision.anomaly import (
    CONTROL_SEEDS,
    SCALES,
    STYLE_SHARE,
    agreement,
    agreement_gap,
    agreement_reading,
    anomaly_flags,
    flag_gap,
    gap_reading,
    plot_flags,
    resemblance_reading,
    style_groups,
)
from synthbook.chapters.precision.bespoke import (
    CLASSIFIER_SEEDS,
    GAN_STEPS,
    PER_DIGIT,
    RECIPES,
    SIZES,
    Bespoke,
    bespoke_sets,
    for_sizes,
    listed,
    plot_precision,
    precision_rows,
)
from synthbook.chapters.precision.portability import (
    auc_difference,
    bespoke_attacks,
    change_reading,
    exposure_reading,
    leak_consequence,
)

__all__ = [
    "CLASSIFIER_SEEDS",
    "CONTROL_SEEDS",
    "GAN_STEPS",
    "PER_DIGIT",
    "RECIPES",
    "SCALES",
    "SIZES",
    "STYLE_SHARE",
    "Bespoke",
    "agreement",
    "agreement_gap",
    "agreement_reading",
    "anomaly_flags",
    "auc_difference",
    "bespoke_attacks",
    "bespoke_sets",
    "change_reading",
    "exposure_reading",
    "flag_gap",
    "for_sizes",
    "gap_reading",
    "leak_consequence",
    "listed",
    "plot_flags",
    "plot_precision",
    "precision_rows",
    "resemblance_reading",
    "style_groups",
]
