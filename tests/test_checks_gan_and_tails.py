"""Answer keys that train or sample: GAN-test per digit, and a filled long tail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from exercise_keys import variability as tails_key
from exercise_keys import what_are_synthetic_data as gan_key
from synthbook import gan, metrics
from synthbook.chapters import variability
from synthbook.data import MnistData, book_splits, load_mnist


@pytest.fixture(scope="module")
def small() -> tuple[MnistData, MnistData]:
    splits = book_splits(load_mnist("embedded", verbose=False), seed=0)
    pick = np.flatnonzero(np.arange(len(splits.train)) % 5 == 0)
    return splits.train.subset(pick), splits.test


def test_gan_test_per_class_matches_predict_and_masks(small) -> None:
    train, _ = small
    judge = metrics.train_classifier(train.images, train.labels, arch="mlp", epochs=1)
    torch.manual_seed(0)
    generator, _ = gan.build_models(gan.GANConfig())
    per_digit = gan_key.gan_test_per_class(judge, generator, per_class=20, seed=3)
    labels = np.repeat(np.arange(10), 20)
    hits = (
        judge.predict(gan.generate(generator, torch.as_tensor(labels), seed=3))
        == labels
    )
    np.testing.assert_allclose(
        per_digit, [hits[labels == d].mean() for d in range(10)], atol=1e-12
    )
    assert per_digit.mean() == pytest.approx(
        metrics.gan_test_accuracy(judge, generator, per_class=20, seed=3), abs=1e-12
    )


def test_augmented_recall_matches_plain_masks(small) -> None:
    train, test = small
    got = tails_key.augmented_recall(train, test, 5, 4, "oversample", 20, epochs=1)
    tail = variability.make_long_tail(train, 5, 4, seed=0)
    added = variability.synthesize("oversample", tail, 5, 20, seed=0)
    model = metrics.train_classifier(
        torch.cat([tail.images, added]),
        torch.cat([tail.labels, torch.full((20,), 5)]),
        arch="mlp",
        epochs=1,
        seed=0,
    )
    predicted, truth = model.predict(test.images), test.labels.numpy()
    assert got[0] == pytest.approx((predicted[truth == 5] == 5).mean(), abs=1e-12)
    assert got[1] == pytest.approx((predicted == truth).mean(), abs=1e-12)


def test_hinge_key_catches_a_summed_loss() -> None:
    def right(real, fake):
        return torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()

    def summed(real, fake):
        return torch.relu(1 - real).sum() + torch.relu(1 + fake).sum()

    gan_key.check_task_1(d_hinge_loss=right, aux_learns_from="a")
    with pytest.raises(AssertionError, match="Average each half separately"):
        gan_key.check_task_1(d_hinge_loss=summed, aux_learns_from="a")
