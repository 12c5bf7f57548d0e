"""Answer key of the exercises on *Meet the data*."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from exercise_keys.common import as_tensor, mean_images
from synthbook import checks
from synthbook.data import MnistData, Splits


def closest_means(means: Any) -> tuple[tuple[int, int], float]:
    """Return the two classes whose mean images are closest (Euclidean), and their distance.

    ``means`` holds one image per class, shape ``(C, H, W)``; the pair is
    ``(a, b)`` with ``a < b``.
    """
    flat = as_tensor(means).reshape(len(means), -1)
    distances = torch.cdist(flat, flat)
    distances.fill_diagonal_(float("inf"))
    index = int(torch.argmin(distances))
    a, b = sorted(divmod(index, distances.shape[1]))
    return (a, b), float(distances[a, b])


def ink_tail(
    images: Any, labels: Any, percentile: float = 95.0, n_classes: int = 10
) -> tuple[float, np.ndarray, np.ndarray]:
    """Describe the heavy-ink tail: images whose ink mass is above a percentile of all.

    Ink mass is the sum of an image's pixel values; the threshold is the
    ``percentile`` of all ink masses (linear interpolation, the default of both
    :func:`numpy.percentile` and :func:`torch.quantile`).

    Returns
    -------
    threshold : float
    share_of_tail : numpy.ndarray of shape (n_classes,)
        Which share of the tail images each class makes up (sums to 1).
    share_in_tail : numpy.ndarray of shape (n_classes,)
        Which share of each class's images lies in the tail.
    """
    pixels = as_tensor(images)
    ink = pixels.reshape(len(pixels), -1).sum(dim=1)
    threshold = float(torch.quantile(ink, percentile / 100.0))
    in_tail = ink > threshold
    digits = as_tensor(labels, torch.int64)
    per_class = torch.bincount(digits, minlength=n_classes).to(torch.float64)
    tail = torch.bincount(digits[in_tail], minlength=n_classes).to(torch.float64)
    return threshold, (tail / tail.sum()).numpy(), (tail / per_class).numpy()


def check_task_1(
    *,
    splits: Splits,
    train_per_digit: Any,
    judge_per_digit: Any,
    test_per_digit: Any,
    why_stratify: Any,
) -> None:
    """Check Task 1: the images of each digit per split, and why the split is stratified."""
    for name, answer, part in [
        ("train_per_digit", train_per_digit, splits.train),
        ("judge_per_digit", judge_per_digit, splits.judge),
        ("test_per_digit", test_per_digit, splits.test),
    ]:
        checks.check_equal(
            name,
            answer,
            part.class_counts().max(),
            hint="60%, 20% and 20% of the images of each digit.",
        )
    checks.check_choice(
        "why_stratify",
        why_stratify,
        correct="b",
        feedback={
            "a": "any random split of a fixed size gets its total right; stratifying is "
            "about what is inside each split.",
            "b": "stratifying keeps every digit's share equal across splits, so a "
            "per-digit number means the same thing in each of them.",
            "c": "the strata are digits, not writers; nothing in the split keeps one "
            "writer's digits together, and the data carry no writer identifiers.",
            "d": "nothing removes unusual digits; each split gets its share of them.",
        },
    )


def check_task_2(
    *, splits: Splits, class_means: Any, closest_pair: Any, closest_distance: Any
) -> None:
    """Check Task 2: the mean image of every digit, and the two closest means."""
    expected_means = mean_images(splits.train.images, splits.train.labels)
    checks.check_shape("class_means", class_means, (10, 28, 28))
    checks.check_close(
        "class_means",
        class_means,
        expected_means,
        rtol=1e-4,
        atol=1e-6,
        hint="Average the train images of each digit, pixel by pixel.",
    )
    expected_pair, expected_distance = closest_means(expected_means)
    checks.check_equal(
        "closest_pair",
        closest_pair,
        expected_pair,
        hint="Write the smaller digit first; a digit's distance to itself (0) does "
        "not count.",
    )
    checks.check_close(
        "closest_distance", closest_distance, expected_distance, rtol=1e-4
    )


def check_task_3(
    *,
    data: MnistData,
    ink: Any,
    threshold: Any,
    share_of_tail: Any,
    ones_in_tail: Any,
) -> None:
    """Check Task 3: the heavy-ink tail, who is in it, and how many of the 1s."""
    expected_threshold, expected_shares, expected_in_tail = ink_tail(
        data.images, data.labels, percentile=95
    )
    checks.check_shape("ink", ink, (len(data),))
    checks.check_close(
        "threshold",
        threshold,
        expected_threshold,
        rtol=1e-4,
        hint="Take the percentile over all 5,000 images, not one digit.",
    )
    checks.check_probability("share_of_tail", share_of_tail)
    # atol allows for one image more or less right at the threshold.
    checks.check_close(
        "share_of_tail",
        share_of_tail,
        expected_shares,
        atol=5e-3,
        hint="Divide the count of each digit in the tail by the size of the tail.",
    )
    checks.check_probability("ones_in_tail", ones_in_tail)
    checks.check_close(
        "ones_in_tail",
        ones_in_tail,
        expected_in_tail[1],
        atol=2.5e-3,
        hint="Divide the number of 1s in the tail by the number of 1s.",
    )
