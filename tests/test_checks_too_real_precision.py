"""The answer keys of the exercises on "Too real" and "Precision and portability"."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from exercise_keys import common, precision
from exercise_keys import too_real as too_real_key
from synthbook import gan, metrics
from synthbook.chapters import too_real


def _images(seed: int, n: int) -> torch.Tensor:
    return torch.rand(n, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_expected_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    members = rng.integers(0, 5, 40).astype(float)  # many ties
    nonmembers = rng.integers(0, 4, 30).astype(float)
    truth = np.r_[np.ones(40), np.zeros(30)]
    assert common.auc(members, nonmembers) == pytest.approx(
        roc_auc_score(truth, np.r_[members, nonmembers]), abs=1e-12
    )
    assert common.auc([2.0, 3.0], [0.0, 1.0]) == 1.0
    assert common.auc([1.0], [1.0]) == 0.5
    with pytest.raises(ValueError, match="at least one"):
        common.auc([], [1.0])


def test_expected_distance_attack_auc_matches_the_library() -> None:
    members, nonmembers = _images(1, 20), _images(2, 25)
    # A "generator" that returns slightly perturbed members: the attack should succeed.
    pool = torch.cat([members + 0.01 * _images(3, 20), _images(4, 30)]).clamp(0, 1)
    library = too_real.attack_auc(
        too_real.distance_attack_scores(members, pool),
        too_real.distance_attack_scores(nonmembers, pool),
    )
    expected = common.distance_attack_auc(members, nonmembers, pool)
    assert expected == pytest.approx(library.auc, abs=1e-9)
    assert expected > 0.9
    # NumPy inputs work as well as tensors.
    assert common.distance_attack_auc(
        members.numpy(), nonmembers.numpy(), pool.numpy()
    ) == pytest.approx(expected)


def test_expected_closer_share_matches_the_library_for_equal_sizes() -> None:
    train, holdout = _images(5, 30), _images(6, 30)
    samples = torch.cat([train[:10] + 0.01, _images(7, 40)]).clamp(0, 1)
    library = too_real.closer_to_train_share(samples, train, holdout)
    share = too_real_key.share_closer_to_train(samples, train, holdout)
    assert share == pytest.approx(library.value, abs=1e-12)
    assert too_real_key.share_closer_to_train(train, train, holdout) == 1.0
    assert (
        too_real_key.share_closer_to_train(train[:3], train, train) == 0.5
    )  # all ties
    with pytest.raises(ValueError, match="equally large"):
        too_real_key.share_closer_to_train(samples, train, holdout[:10])


def test_expected_tstr_accuracy_matches_train_classifier() -> None:
    labels = torch.arange(10).repeat(6)
    images = _images(8, 60) * 0.2
    images[torch.arange(60), labels * 2, :] = 1.0  # one bright row per digit
    test_labels = torch.arange(10).repeat(3)
    test_images = _images(9, 30) * 0.2
    test_images[torch.arange(30), test_labels * 2, :] = 1.0
    model = metrics.train_classifier(images, labels, arch="mlp", epochs=3, seed=1)
    plain = float((model.predict(test_images) == test_labels.numpy()).mean())
    got = precision.tstr_accuracy(
        images, labels, test_images, test_labels, seed=1, epochs=3
    )
    assert got == pytest.approx(plain, abs=1e-12)
    assert got > 0.5


def test_expected_generated_oddness_matches_predict_proba() -> None:
    torch.manual_seed(0)
    generator, _ = gan.build_models(gan.GANConfig())
    normal, held_out = _images(10, 50), _images(11, 40)
    odd = precision.generated_oddness(
        generator, normal, held_out, 2.0, per_digit=5, seed=3, epochs=1
    )
    anomalies = gan.generate(
        generator, torch.arange(10).repeat_interleave(5), seed=3, noise_scale=2.0
    )
    labels = torch.cat([torch.zeros(50), torch.ones(50)]).long()
    detector = metrics.train_classifier(
        torch.cat([normal, anomalies]), labels, arch="mlp", epochs=1, seed=0
    )
    assert odd.shape == (40,)
    np.testing.assert_allclose(odd, detector.predict_proba(held_out)[:, 1], atol=1e-6)


def test_expected_rank_correlation_matches_scipy() -> None:
    rng = np.random.default_rng(12)
    a = rng.normal(size=200)
    b = a + rng.normal(size=200)
    assert precision.rank_correlation(a, b) == pytest.approx(
        spearmanr(a, b)[0], abs=1e-12
    )
    tied_a, tied_b = rng.integers(0, 4, 50), rng.integers(0, 6, 50)
    assert precision.rank_correlation(tied_a, tied_b) == pytest.approx(
        spearmanr(tied_a, tied_b)[0], abs=1e-12
    )
    assert precision.rank_correlation(a, -a) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same length"):
        precision.rank_correlation(a, b[:10])
