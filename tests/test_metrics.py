import numpy as np
import pytest
import torch

from synthbook import metrics


def test_frechet_zero_for_same_set_and_matches_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = rng.normal(size=(4000, 3)) + np.array([2.0, 0.0, 0.0])
    # Identity covariances: the distance is the squared mean shift, 4, up to sampling noise.
    assert metrics.frechet_distance(a, shifted) == pytest.approx(4.0, abs=0.25)
    scaled = rng.normal(size=(4000, 3)) * 2.0
    # Same mean, covariances I and 4I: trace(I + 4I - 2*2I) = 3.
    assert metrics.frechet_distance(a, scaled) == pytest.approx(3.0, abs=0.3)


def test_frechet_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="equal width"):
        metrics.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))


def test_knn_precision_recall_extremes() -> None:
    rng = np.random.default_rng(1)
    real = rng.normal(size=(300, 4))
    assert metrics.knn_precision_recall(real, real.copy()) == (1.0, 1.0)
    far = rng.normal(size=(300, 4)) + 100.0
    assert metrics.knn_precision_recall(real, far) == (0.0, 0.0)
    # Samples packed at the real mean: precise, but they cover little of the real range.
    collapsed = rng.normal(size=(300, 4)) * 0.05
    precision, recall = metrics.knn_precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.3


def test_nearest_neighbour_distances() -> None:
    reference = torch.rand(20, 28, 28)
    assert np.allclose(metrics.nearest_neighbour_distances(reference[:5], reference), 0.0)
    moved = reference[:5] + 0.1
    assert np.all(metrics.nearest_neighbour_distances(moved, reference) > 0)
    with pytest.raises(ValueError, match="empty"):
        metrics.nearest_neighbour_distances(reference, reference[:0])


def test_classifier_learns_separable_toy_digits() -> None:
    torch.manual_seed(0)
    images = torch.zeros(200, 28, 28)
    labels = torch.arange(200) % 10
    for i, digit in enumerate(labels):
        images[i, 2 * digit : 2 * digit + 3, :] = 1.0  # a bar whose height encodes the digit
    images += 0.05 * torch.rand_like(images)
    model = metrics.train_classifier(images, labels, arch="mlp", epochs=15, seed=0)
    assert (model.predict(images) == labels.numpy()).mean() == 1.0
    again = metrics.train_classifier(images, labels, arch="mlp", epochs=15, seed=0)
    assert np.allclose(model.predict_proba(images), again.predict_proba(images))
    assert model.features(images).shape == (200, model.width)


def test_classifier_bad_inputs() -> None:
    with pytest.raises(ValueError, match="labels"):
        metrics.train_classifier(torch.zeros(3, 28, 28), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="no images"):
        metrics.train_classifier(torch.zeros(0, 28, 28), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="arch"):
        metrics.Classifier("resnet")
