"""data.stratified_split gives scikit-learn's stratified split without importing it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from synthbook.data import book_splits, load_mnist, stratified_split


def _sklearn(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    train, test = train_test_split(
        np.arange(len(labels)), test_size=fraction, stratify=labels, random_state=seed
    )
    return np.sort(train), np.sort(test)


CASES = [
    (np.repeat(np.arange(10), 500), 0.4),  # the book's 5,000 images
    (np.repeat(np.arange(10), 200), 0.5),  # the book's second split
    (np.repeat(np.arange(10), [7, 9, 11, 13, 15, 17, 19, 21, 23, 25]), 0.3),
    (np.repeat(np.arange(3), [2, 2, 3]), 0.5),  # ties broken at random
    (np.repeat(np.arange(4), [5, 5, 5, 6]), 0.1 + 0.2),  # 0.30000000000000004
    (np.random.default_rng(3).integers(0, 10, 997), 0.37),
    (np.repeat(np.array([8, 3, 5]), [40, 3, 12]), 0.25),  # unsorted class values
]


@pytest.mark.parametrize(("labels", "fraction"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
def test_the_same_indices_as_scikit_learn(
    labels: np.ndarray, fraction: float, seed: int
) -> None:
    mine = stratified_split(labels, fraction, seed)
    theirs = _sklearn(labels, fraction, seed)
    np.testing.assert_array_equal(mine[0], theirs[0])
    np.testing.assert_array_equal(mine[1], theirs[1])


def test_the_book_splits_are_those_of_scikit_learn() -> None:
    data = load_mnist("embedded", verbose=False)
    splits = book_splits(data, seed=0)
    train, rest = _sklearn(data.labels.numpy(), 0.4, 0)
    judge, test = _sklearn(data.labels.numpy()[rest], 0.5, 0)
    np.testing.assert_array_equal(splits.train.images, data.images[train])
    np.testing.assert_array_equal(splits.judge.images, data.images[rest][judge])
    np.testing.assert_array_equal(splits.test.images, data.images[rest][test])


def test_splitting_imports_no_scikit_learn() -> None:
    code = (
        "import sys\n"
        "from synthbook.data import book_splits, load_mnist\n"
        "book_splits(load_mnist('embedded', verbose=False))\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_class_with_one_member_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"labels: .*\[7\] have 1"):
        stratified_split(np.array([0, 0, 1, 1, 7]), 0.5)


def test_a_part_too_small_for_every_class_is_refused() -> None:
    with pytest.raises(ValueError, match="test_fraction=0.05"):
        stratified_split(np.repeat(np.arange(10), 5), 0.05)


def test_labels_must_be_one_dimensional() -> None:
    with pytest.raises(ValueError, match="labels must be 1-D"):
        stratified_split(np.zeros((4, 2)), 0.5)
