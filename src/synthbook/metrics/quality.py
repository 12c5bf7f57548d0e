"""How good are generated digits, and for what? Scores and distances.

GAN-test and GAN-train (Shmelkov et al. 2018), the Fréchet distance in the
judge's feature space (after Heusel et al. 2017) with its real-vs-real floor,
k-NN precision and recall (Kynkäänniemi et al. 2019), and nearest-neighbour
distances to the training set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synthbook import gan, validate
from synthbook.data import MnistData, Splits
from synthbook.metrics.classifiers import (
    Classifier,
    accuracy,
    load_or_train_classifier,
    train_classifier,
)

#: Epochs of the GAN-train classifier (and of its real-data twin).
GAN_TRAIN_EPOCHS = 8


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``; the matrix square
    root's tiny imaginary parts from round-off are dropped.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    validate.check_finite("features_a", a)
    validate.check_finite("features_b", b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"feature sets must be 2-D of equal width, got {a.shape} and {b.shape}"
        )
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each feature set needs at least two rows")
    mu_a, mu_b = a.mean(0), b.mean(0)
    # atleast_2d: np.cov of a single feature is a 0-d array.
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    # Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), a
    # symmetric matrix: stable where sqrtm of the non-symmetric product is not.
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    sqrt_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_root = np.sqrt(
        np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)
    ).sum()
    value = float(
        ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    )
    return max(value, 0.0)


def knn_precision_recall(
    real_features: np.ndarray, fake_features: np.ndarray, k: int = 3
) -> tuple[float, float]:
    """k-NN precision and recall (Kynkäänniemi et al. 2019).

    Precision: share of generated points inside the real manifold (the union
    of balls around each real point reaching its k-th nearest real neighbour).
    Recall: the same with the roles swapped.
    """
    k = validate.check_count("k", k, minimum=1)
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    validate.check_finite("real_features", real)
    validate.check_finite("fake_features", fake)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"each set needs more than k={k} points")

    def coverage(reference: np.ndarray, queries: np.ndarray) -> float:
        ref = torch.from_numpy(reference)
        radii = (
            torch.cdist(ref, ref).kthvalue(k + 1, dim=1).values
        )  # +1 skips the point itself
        distances = torch.cdist(torch.from_numpy(queries), ref)
        return float((distances <= radii.unsqueeze(0)).any(dim=1).double().mean())

    return coverage(real, fake), coverage(fake, real)


def nearest_neighbour_distances(
    samples: torch.Tensor,
    reference: torch.Tensor,
    *,
    features: Callable[[torch.Tensor], np.ndarray] | None = None,
) -> np.ndarray:
    """Euclidean distance from each sample to its nearest reference image.

    Compare generated-to-train against held-out-to-train: generated digits
    much closer to the training images than real unseen digits are is a sign
    of copying.

    Parameters
    ----------
    samples, reference : torch.Tensor
        ``(N, 28, 28)`` and ``(M, 28, 28)`` images in ``[0, 1]``.
    features : callable, optional
        Map images to feature vectors first (e.g. ``judge.features``);
        default: raw pixels.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` distances.
    """
    if len(reference) == 0:
        raise ValueError("the reference set is empty")
    if len(samples) == 0:
        return np.zeros(0)
    if features is not None:
        a = torch.as_tensor(np.asarray(features(samples)), dtype=torch.float64)
        b = torch.as_tensor(np.asarray(features(reference)), dtype=torch.float64)
    else:
        a = samples.reshape(len(samples), -1).double()
        b = reference.reshape(len(reference), -1).double()
    return torch.cdist(a, b).min(dim=1).values.numpy()


def judge_features(judge: Classifier, images: torch.Tensor) -> np.ndarray:
    """Return the judge's penultimate-layer features of ``(N, 28, 28)`` images, ``(N, width)``."""
    return judge.features(torch.as_tensor(images).reshape(-1, 28, 28).float())


def real_vs_real_frechet(
    judge: Classifier,
    first: MnistData,
    second: MnistData,
    *,
    per_class: int = 100,
    seed: int = 0,
) -> float:
    """Return the Fréchet floor: the distance between two disjoint real sets of equal size.

    Draws ``per_class`` images of each digit from ``first`` and from
    ``second`` (which must not overlap, e.g. the train and test splits).
    A generated set of the same size cannot be expected to do better.
    """
    rng = np.random.default_rng(seed)
    a = first.subset(_per_class_pick(first, per_class, rng))
    b = second.subset(_per_class_pick(second, per_class, rng))
    return frechet_distance(
        judge_features(judge, a.images), judge_features(judge, b.images)
    )


@dataclass(frozen=True)
class _Sampled:
    images: torch.Tensor
    labels: torch.Tensor


def _class_conditional_samples(
    generator: nn.Module, per_class: int, seed: int
) -> _Sampled:
    validate.check_count("per_class", per_class, minimum=1)
    labels = gan.class_labels(per_class)
    return _Sampled(gan.generate(generator, labels, seed=seed), labels)


def gan_test_accuracy(
    judge: Classifier, generator: nn.Module, per_class: int = 100, seed: int = 0
) -> float:
    """Share of class-conditional samples the judge labels as the digit asked for."""
    sampled = _class_conditional_samples(generator, per_class, seed)
    return float((judge.predict(sampled.images) == sampled.labels.numpy()).mean())


def gan_train_accuracy(
    generator: nn.Module,
    test: MnistData,
    per_class: int = 300,
    seed: int = 0,
    epochs: int = GAN_TRAIN_EPOCHS,
) -> float:
    """Train a classifier only on generated digits; return its accuracy on real ``test``."""
    sampled = _class_conditional_samples(generator, per_class, seed + 1)
    model = train_classifier(sampled.images, sampled.labels, epochs=epochs, seed=seed)
    return accuracy(model, test)


def evaluate_generator(
    generator: nn.Module,
    splits: Splits,
    judge: Classifier,
    *,
    per_class: int = 100,
    seed: int = 0,
    gan_train_per_class: int = 300,
) -> dict[str, float]:
    """Every score of the GAN chapter for one generator.

    Parameters
    ----------
    generator : synthbook.gan.Generator
    splits : Splits
        The book's splits: ``train`` (what the GAN saw), ``test`` (held out).
    judge : Classifier
        Trained on ``splits.judge`` (see :func:`load_or_train_judge`).
    per_class : int, default 100
        Generated (and real) digits per class for the judge's scores and the
        distances; the Fréchet floor uses real sets of the same size.
    seed : int, default 0
    gan_train_per_class : int, default 300
        Generated digits per class to train the GAN-train classifier on (300
        matches the real training split).

    Returns
    -------
    dict of str to float
        ``gan_test``; ``gan_train``; ``real_train_accuracy`` (the same
        classifier trained on the real train split, the ceiling for GAN-train);
        ``judge_accuracy`` (the judge on real test digits); ``frechet``
        (generated vs real train digits) and ``frechet_real_vs_real`` (real
        train vs real test digits, same sizes); k-NN ``precision`` and
        ``recall``; median pixel distances to the nearest training image from
        generated digits (``nn_generated_to_train``) and from held-out real
        digits (``nn_heldout_to_train``).
    """
    sampled = _class_conditional_samples(generator, per_class, seed)
    fake_features = judge_features(judge, sampled.images)
    rng = np.random.default_rng(seed)
    reference = splits.train.subset(_per_class_pick(splits.train, per_class, rng))
    other = splits.test.subset(_per_class_pick(splits.test, per_class, rng))
    real_features = judge_features(judge, reference.images)
    precision, recall = knn_precision_recall(real_features, fake_features)
    real_model = load_or_train_classifier(
        splits.train, seed=seed, epochs=GAN_TRAIN_EPOCHS
    )
    return {
        "gan_test": float(
            (judge.predict(sampled.images) == sampled.labels.numpy()).mean()
        ),
        "gan_train": gan_train_accuracy(
            generator, splits.test, per_class=gan_train_per_class, seed=seed
        ),
        "real_train_accuracy": accuracy(real_model, splits.test),
        "judge_accuracy": accuracy(judge, splits.test),
        "frechet": frechet_distance(real_features, fake_features),
        "frechet_real_vs_real": frechet_distance(
            real_features, judge_features(judge, other.images)
        ),
        "precision": precision,
        "recall": recall,
        "nn_generated_to_train": float(
            np.median(nearest_neighbour_distances(sampled.images, splits.train.images))
        ),
        "nn_heldout_to_train": float(
            np.median(nearest_neighbour_distances(other.images, splits.train.images))
        ),
    }


def _per_class_pick(
    data: MnistData, per_class: int, rng: np.random.Generator
) -> np.ndarray:
    labels = data.labels.numpy()
    picks = []
    for digit in range(10):
        pool = np.flatnonzero(labels == digit)
        if len(pool) < per_class:
            raise ValueError(
                f"digit {digit} has {len(pool)} images, fewer than {per_class}"
            )
        picks.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(picks))
