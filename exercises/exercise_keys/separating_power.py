"""Answer key of the exercises on *Separating power*."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synthbook import checks
from synthbook.chapters import separating_power


def check_task_1(
    *,
    view: Any,
    before: Any,
    after: Any,
    flip_share: Any,
    flips_9_to_4: Any,
    flips_4_to_9: Any,
    accuracy_change: Any,
    flip_vs_accuracy: Any,
) -> None:
    """Check Task 1: flips and accuracy after adding stand-ins between the classes."""
    shift = separating_power.shift_measures(before, after, view)
    checks.check_probability("flip_share", flip_share)
    checks.check_close(
        "flip_share",
        flip_share,
        shift.flip_share,
        atol=1e-9,
        hint="Divide the number of changed predictions by the number of test digits.",
    )
    counts = shift.flip_counts()
    checks.check_equal("flips_9_to_4", flips_9_to_4, counts.get((9, 4), 0))
    checks.check_equal("flips_4_to_9", flips_4_to_9, counts.get((4, 9), 0))
    checks.check_close(
        "accuracy_change",
        accuracy_change,
        shift.accuracy_after - shift.accuracy_before,
        atol=1e-9,
        hint="After minus before, as a share (not in percentage points).",
    )
    checks.check_choice(
        "flip_vs_accuracy",
        flip_vs_accuracy,
        correct="b",
        feedback={
            "a": "a flip can turn a wrong prediction into a right one, which raises "
            "accuracy while another flip lowers it; the two cancel in the accuracy but "
            "both count as flips.",
            "b": "accuracy only counts the net effect; the flip share counts every "
            "decision that moved, so it can be large while accuracy barely changes.",
            "c": "equal numbers of corrections and new errors leave accuracy unchanged "
            "while many predictions change.",
            "d": "a flip moves whatever lies between the old and the new line, right or "
            "wrong.",
        },
    )


def check_task_2(
    *,
    blobs: Any,
    intruders: Any,
    crossing_before: Any,
    crossing_as_4: Any,
    crossing_as_9: Any,
    direction: Any,
) -> None:
    """Check Task 2: where the boundary crosses the line between the means, with intruders."""
    # The library's experiment runner, fed the intruders as a pool of synthetic points.
    n = len(intruders)
    results = {}
    for digit in (4, 9):
        pool = separating_power.SyntheticPool(
            intruders,
            np.full(n, digit),
            np.full(n, digit),
            np.zeros(n),
            {"conditioning": np.full(n, digit)},
        )
        results[digit] = separating_power.run_condition(
            blobs, pool, amount=n, rule="conditioning"
        ).shift
    checks.check_close(
        "crossing_before",
        crossing_before,
        results[4].crossing_before,
        atol=2e-3,
        hint="Train on blobs.train_xy and blobs.train_y only; start at the mean of "
        "the 4s.",
    )
    checks.check_close(
        "crossing_as_4", crossing_as_4, results[4].crossing_after, atol=2e-3
    )
    checks.check_close(
        "crossing_as_9", crossing_as_9, results[9].crossing_after, atol=2e-3
    )
    moved = results[4].crossing_after - results[4].crossing_before
    key = "a" if moved > 0.01 else ("b" if moved < -0.01 else "c")
    checks.check_choice(
        "direction",
        direction,
        correct=key,
        feedback={
            "a": "points labelled 4 on the 9 side pull the logistic regression toward "
            "them: to fit them it has to give the 4s more of the line.",
            "b": "the 4 labels are on the 9 side; fitting them can only give the 4s more "
            "room.",
            "c": "40 points are a tenth of the data, and they sit where the classifier "
            "was most confident; logistic regression weighs them heavily.",
        },
    )


def check_task_3(
    *,
    view: Any,
    judge: Any,
    requested: Any,
    toward: Any,
    weight: Any,
    images: torch.Tensor,
    labels_by_rule: Any,
    n_contested: Any,
    judge_agrees_nearest: Any,
) -> None:
    """Check Task 3: three labelling rules on 60 in-between digits."""
    expected = separating_power.assign_labels(
        requested,
        toward,
        weight,
        (4, 9),
        images=images.numpy(),
        judge=judge,
        reference_pixels=view.reference_pixels,
        reference_labels=view.train_y,
    )
    hints = {
        "conditioning": "With a weight of 0.45 the request still dominates.",
        "judge": "Compare only the judge's scores for 4 and 9, not all ten digits.",
        "nearest": "Use the pixels of the real training 4s and 9s "
        "(view.reference_pixels).",
    }
    checks.check_equal(
        "the rules in labels_by_rule",
        sorted(labels_by_rule),
        sorted(separating_power.RULES),
    )
    for rule in separating_power.RULES:
        checks.check_equal(
            f"labels_by_rule[{rule!r}]",
            np.asarray(labels_by_rule[rule]),
            expected[rule],
            hint=hints[rule],
        )
    reference_pool = separating_power.SyntheticPool(
        np.zeros((60, 2)), requested, toward, weight, expected
    )
    checks.check_equal(
        "n_contested",
        n_contested,
        int(reference_pool.contested().sum()),
        hint="Count the digits where some rule gives a different label from another.",
    )
    checks.check_close(
        "judge_agrees_nearest",
        judge_agrees_nearest,
        reference_pool.agreement()[("judge", "nearest")],
        atol=1e-9,
    )
