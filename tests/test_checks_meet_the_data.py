"""The answer key of the exercises on "Meet the data", against plain NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from exercise_keys import common
from exercise_keys import meet_the_data as key
from synthbook.data import MnistData, book_splits, load_mnist


@pytest.fixture(scope="module")
def data() -> MnistData:
    return load_mnist("embedded", verbose=False)


def test_reference_computations_agree_with_plain_numpy() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((60, 4, 4)).astype(np.float32)
    labels = np.arange(60) % 3
    means = common.mean_images(images, labels, n_classes=3)
    for digit in range(3):
        np.testing.assert_allclose(
            means[digit], images[labels == digit].mean(axis=0), rtol=1e-6
        )

    far = np.stack([np.zeros((2, 2)), np.full((2, 2), 5.0), np.full((2, 2), 1.0)])
    assert key.closest_means(far) == ((0, 2), pytest.approx(2.0))

    threshold, share_of_tail, share_in_tail = key.ink_tail(
        images, labels, percentile=90, n_classes=3
    )
    ink = images.reshape(60, -1).sum(axis=1)
    assert threshold == pytest.approx(np.percentile(ink, 90), rel=1e-5)
    tail = ink > np.percentile(ink, 90)
    np.testing.assert_allclose(
        share_of_tail, np.bincount(labels[tail], minlength=3) / tail.sum()
    )
    np.testing.assert_allclose(
        share_in_tail, np.bincount(labels[tail], minlength=3) / 20
    )
    with pytest.raises(ValueError, match="no images of class"):
        common.mean_images(images, labels, n_classes=4)


def _numpy_means(splits) -> np.ndarray:
    images, labels = splits.train.images.numpy(), splits.train.labels.numpy()
    return np.stack([images[labels == d].mean(axis=0) for d in range(10)])


def test_task_2_passes_a_right_answer_and_explains_a_wrong_one(
    data: MnistData, capsys
) -> None:
    splits = book_splits(data, seed=0)
    means = _numpy_means(splits)
    flat = means.reshape(10, -1)
    distances = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    a, b = np.unravel_index(np.argmin(distances), distances.shape)
    pair, distance = (int(min(a, b)), int(max(a, b))), float(distances[a, b])
    key.check_task_2(
        splits=splits, class_means=means, closest_pair=pair, closest_distance=distance
    )
    assert capsys.readouterr().out.count("✓") == 4
    with pytest.raises(AssertionError, match="smaller digit first"):
        key.check_task_2(
            splits=splits,
            class_means=means,
            closest_pair=pair[::-1],
            closest_distance=distance,
        )
    with pytest.raises(AssertionError, match="class_means"):
        key.check_task_2(
            splits=splits,
            class_means=means[::-1],
            closest_pair=pair,
            closest_distance=distance,
        )


def test_task_1_keeps_its_multiple_choice_key_out_of_the_notebook(
    data: MnistData,
) -> None:
    splits = book_splits(data, seed=0)
    with pytest.raises(AssertionError, match="strata are digits, not writers"):
        key.check_task_1(
            splits=splits,
            train_per_digit=300,
            judge_per_digit=100,
            test_per_digit=100,
            why_stratify="c",
        )
    with pytest.raises(AssertionError, match="train_per_digit is 3000"):
        key.check_task_1(
            splits=splits,
            train_per_digit=3000,
            judge_per_digit=100,
            test_per_digit=100,
            why_stratify="b",
        )
