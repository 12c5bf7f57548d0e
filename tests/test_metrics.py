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


def test_frechet_of_one_feature_is_the_1d_formula() -> None:
    # One feature: (mu_a - mu_b)^2 + (s_a - s_b)^2 with sample standard deviations.
    rng = np.random.default_rng(2)
    a, b = rng.normal(0.0, 1.0, 50), rng.normal(2.0, 3.0, 70)
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert metrics.frechet_distance(a[:, None], b[:, None]) == pytest.approx(
        expected, rel=1e-9
    )


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
    assert np.allclose(
        metrics.nearest_neighbour_distances(reference[:5], reference), 0.0
    )
    moved = reference[:5] + 0.1
    assert np.all(metrics.nearest_neighbour_distances(moved, reference) > 0)
    with pytest.raises(ValueError, match="empty"):
        metrics.nearest_neighbour_distances(reference, reference[:0])


def test_classifier_learns_separable_toy_digits() -> None:
    torch.manual_seed(0)
    images = torch.zeros(200, 28, 28)
    labels = torch.arange(200) % 10
    for i, digit in enumerate(labels):
        images[i, 2 * digit : 2 * digit + 3, :] = (
            1.0  # a bar whose height encodes the digit
        )
    images += 0.05 * torch.rand_like(images)
    model = metrics.train_classifier(images, labels, arch="mlp", epochs=15, seed=0)
    assert (model.predict(images) == labels.numpy()).mean() == 1.0
    again = metrics.train_classifier(images, labels, arch="mlp", epochs=15, seed=0)
    assert np.allclose(model.predict_proba(images), again.predict_proba(images))
    assert model.features(images).shape == (200, model.width)


def test_classifier_bad_inputs() -> None:
    with pytest.raises(ValueError, match="labels"):
        metrics.train_classifier(
            torch.zeros(3, 28, 28), torch.zeros(2, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="no images"):
        metrics.train_classifier(
            torch.zeros(0, 28, 28), torch.zeros(0, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="arch"):
        metrics.Classifier("resnet")


def test_frechet_matches_closed_form_for_correlated_gaussians() -> None:
    # Two Gaussians with known means and covariances: FD = |dmu|^2 + Tr(A + B - 2 (AB)^1/2).
    from scipy import linalg

    rng = np.random.default_rng(2)
    cov_a = np.array([[2.0, 0.6], [0.6, 1.0]])
    cov_b = np.array([[1.0, -0.3], [-0.3, 0.5]])
    mu_b = np.array([1.0, -2.0])
    a = rng.multivariate_normal(np.zeros(2), cov_a, size=200_000)
    b = rng.multivariate_normal(mu_b, cov_b, size=200_000)
    root = np.real(linalg.sqrtm(cov_a @ cov_b))
    expected = float(mu_b @ mu_b + np.trace(cov_a + cov_b - 2 * root))
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)
    # Degenerate (rank-deficient) covariances must not give NaN or a negative value.
    flat = np.zeros((50, 4))
    flat[:, 0] = rng.normal(size=50)
    assert metrics.frechet_distance(flat, flat) == pytest.approx(0.0, abs=1e-9)


def test_nearest_neighbour_distances_in_feature_space() -> None:
    reference = torch.rand(10, 28, 28)

    def mean_pixel(images):
        return images.reshape(len(images), -1).mean(1, keepdim=True).numpy()  # noqa: E731

    distances = metrics.nearest_neighbour_distances(
        reference[:3], reference, features=mean_pixel
    )
    assert distances.shape == (3,) and np.allclose(distances, 0.0)


def test_real_vs_real_frechet_and_judge_features() -> None:
    from synthbook.data import load_mnist

    data = load_mnist("embedded", verbose=False)
    first = data.subset(np.arange(0, 5000, 2))
    second = data.subset(np.arange(1, 5000, 2))
    judge = metrics.train_classifier(
        first.images[:600], first.labels[:600], arch="mlp", epochs=1, width=16
    )
    features = metrics.judge_features(judge, second.images[:7])
    assert features.shape == (7, 16)
    floor = metrics.real_vs_real_frechet(judge, first, second, per_class=20, seed=0)
    assert (
        0.0
        < floor
        < metrics.frechet_distance(
            metrics.judge_features(judge, first.images[:200]),
            metrics.judge_features(judge, torch.rand(200, 28, 28)),
        )
    )


def test_augmented_training_is_deterministic_and_cached() -> None:
    from synthbook.data import MnistData

    images = torch.rand(40, 28, 28)
    labels = torch.arange(40) % 10
    a = metrics.train_classifier(
        images, labels, arch="mlp", epochs=2, max_shift=2, width=8
    )
    b = metrics.train_classifier(
        images, labels, arch="mlp", epochs=2, max_shift=2, width=8
    )
    assert np.allclose(a.predict_proba(images), b.predict_proba(images))
    data = MnistData(images, labels, "test")
    first = metrics.load_or_train_classifier(data, arch="mlp", epochs=1, width=8)
    again = metrics.load_or_train_classifier(data, arch="mlp", epochs=1, width=8)
    assert np.allclose(first.predict_proba(images), again.predict_proba(images))
    with pytest.raises(ValueError, match="0 to 9"):
        metrics.train_classifier(images[:2], torch.tensor([0, 10]))


def _toy_pool(count: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(5)
    labels = torch.arange(count) % 10
    images = 0.3 * torch.rand(count, 28, 28, generator=generator)
    for i, digit in enumerate(labels.tolist()):
        images[i, 2 * digit : 2 * digit + 3, 4:24] += 0.7
    return images.clamp(0, 1), labels


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_batched_training_matches_one_model_at_a_time(arch: str) -> None:
    # Different training sets, orders, batch sizes, epochs and seeds per model;
    # the second model finishes long before the others and must then stay put.
    images, labels = _toy_pool()
    members = [torch.arange(0, 300), torch.arange(50, 120), torch.arange(399, 99, -1)]
    settings = {"epochs": [2, 1, 3], "seeds": [0, 1, 0], "batch_sizes": [32, 64, 48]}
    batched = metrics.train_classifiers(
        images, labels, members, arch=arch, width=16, **settings
    )
    for m, model in enumerate(batched):
        alone = metrics.train_classifier(
            images[members[m]],
            labels[members[m]],
            arch=arch,
            width=16,
            epochs=settings["epochs"][m],
            seed=settings["seeds"][m],
            batch_size=settings["batch_sizes"][m],
        )
        # Stated tolerance: the batched matrix products add in another order, so
        # weights agree to float rounding (1e-4 after these few steps), and the
        # predicted digits are the same.
        for name, value in alone.state_dict().items():
            assert torch.allclose(model.state_dict()[name], value, atol=1e-4), name
        np.testing.assert_array_equal(model.predict(images), alone.predict(images))


def test_batched_training_rejects_bad_members() -> None:
    images, labels = _toy_pool(50)
    with pytest.raises(ValueError, match="at least one"):
        metrics.train_classifiers(images, labels, [])
    with pytest.raises(ValueError, match="outside"):
        metrics.train_classifiers(images, labels, [torch.tensor([0, 50])])
    with pytest.raises(ValueError, match="non-empty"):
        metrics.train_classifiers(images, labels, [torch.tensor([], dtype=torch.long)])
    with pytest.raises(ValueError, match="one per model"):
        metrics.train_classifiers(
            images, labels, [torch.arange(5), torch.arange(5)], epochs=[1, 2, 3]
        )
