"""How good are generated digits, and for what? Classifiers and distances.

- :func:`train_classifier`: a small, seeded digit classifier (CNN or MLP) used
  as the *judge*, for GAN-train, and by later chapters on augmented data.
- :func:`load_or_train_judge`: the judge, trained on the real ``judge`` split
  that no generator sees, and cached.
- GAN-test and GAN-train (Shmelkov et al. 2018), the Fréchet distance in the
  judge's feature space (after Heusel et al. 2017) with its real-vs-real
  floor, k-NN precision and recall (Kynkäänniemi et al. 2019), and
  nearest-neighbour distances to the training set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from synthbook.cache import cache_dir, load_or_none, make_key, save_checked
from synthbook.data import MnistData, Splits

CLASSIFIER_ARCHES = ("cnn", "mlp")
#: Augmentation of the judge's training digits (pixels of random shift).
JUDGE_MAX_SHIFT = 2
#: Epochs of the GAN-train classifier (and of its real-data twin).
GAN_TRAIN_EPOCHS = 8
_CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


class Classifier(nn.Module):
    """A small digit classifier with a feature layer for distances."""

    def __init__(self, arch: str = "cnn", width: int = 128) -> None:
        super().__init__()
        if arch not in CLASSIFIER_ARCHES:
            raise ValueError(
                f"unknown classifier arch {arch!r}: use one of {CLASSIFIER_ARCHES}"
            )
        self.arch = arch
        self.width = width
        if arch == "cnn":
            self.body = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(32 * 7 * 7, width),
                nn.ReLU(),
            )
        else:
            self.body = nn.Sequential(
                nn.Flatten(),
                nn.Linear(784, 2 * width),
                nn.ReLU(),
                nn.Linear(2 * width, width),
                nn.ReLU(),
            )
        self.head = nn.Linear(width, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return class logits for ``(N, 28, 28)`` images in ``[0, 1]``."""
        return self.head(self.body(images.view(-1, 1, 28, 28)))

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch: int = 1000) -> np.ndarray:
        """Penultimate-layer activations, ``(N, width)``."""
        self.eval()
        parts = [
            self.body(images[i : i + batch].view(-1, 1, 28, 28))
            for i in range(0, len(images), batch)
        ]
        return (
            torch.cat(parts).numpy().astype(np.float64)
            if parts
            else np.zeros((0, self.width))
        )

    @torch.no_grad()
    def predict_proba(self, images: torch.Tensor, batch: int = 1000) -> np.ndarray:
        """Class probabilities, ``(N, 10)``."""
        self.eval()
        parts = [
            F.softmax(self(images[i : i + batch]), dim=1)
            for i in range(0, len(images), batch)
        ]
        return torch.cat(parts).numpy() if parts else np.zeros((0, 10))

    def predict(self, images: torch.Tensor) -> np.ndarray:
        """Predicted digits, ``(N,)``."""
        return self.predict_proba(images).argmax(axis=1)


def _shift_batch(x: torch.Tensor, max_shift: int, rng: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero fill), seeded."""
    padded = F.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (len(x), 2), generator=rng)
    return torch.stack(
        [padded[i, r : r + 28, c : c + 28] for i, (r, c) in enumerate(offsets.tolist())]
    )


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    arch: str = "cnn",
    epochs: int = 8,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 2e-3,
    width: int = 128,
    max_shift: int = 0,
) -> Classifier:
    """Train a digit classifier with Adam; seeded and deterministic on a CPU.

    General enough for every chapter: pass any mix of real and synthetic
    digits. The result has ``predict``, ``predict_proba`` and ``features``.

    Parameters
    ----------
    images : torch.Tensor
        ``(N, 28, 28)`` in ``[0, 1]``.
    labels : torch.Tensor
        ``(N,)`` digits.
    arch : {"cnn", "mlp"}
        A two-layer CNN (better) or an MLP (about twice as fast).
    epochs : int, default 8
        Passes over the data.
    seed : int, default 0
        Seeds the weights, the batch order and the augmentation.
    batch_size, lr, width : int, float, int
        Mini-batch size, Adam learning rate, feature width.
    max_shift : int, default 0
        Randomly translate training images by up to this many pixels (data
        augmentation; 0 turns it off).

    Returns
    -------
    Classifier
        In eval mode.
    """
    if len(images) != len(labels):
        raise ValueError(
            f"{len(images)} images but {len(labels)} labels: give one label per image"
        )
    if len(images) == 0:
        raise ValueError("cannot train a classifier on no images")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    y = torch.as_tensor(
        np.asarray(labels) if not torch.is_tensor(labels) else labels
    ).long()
    if int(y.min()) < 0 or int(y.max()) > 9:
        raise ValueError("labels must be digits 0 to 9")
    torch.manual_seed(seed)
    model = Classifier(arch, width)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(images).reshape(-1, 28, 28).float()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=rng)
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            batch = _shift_batch(x[idx], max_shift, rng) if max_shift else x[idx]
            loss = F.cross_entropy(model(batch), y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    model.eval()
    return model


def accuracy(model: Classifier, data: MnistData) -> float:
    """Share of ``data`` the model labels correctly."""
    return float((model.predict(data.images) == data.labels.numpy()).mean())


def load_or_train_classifier(
    data: MnistData, *, seed: int = 0, folder: str = "classifiers", **settings: Any
) -> Classifier:
    """Train :func:`train_classifier` on ``data``, or read the result from the cache.

    The key covers the data's fingerprint, the seed, the settings, torch's
    thread count and this module's code. A damaged entry is rebuilt.

    Parameters
    ----------
    data : MnistData
        Training images and labels.
    seed : int, default 0
    folder : str, default "classifiers"
        Sub-folder of the cache.
    **settings
        Passed on to :func:`train_classifier` (``epochs``, ``arch``, ...).
    """
    key = make_key(
        data=data.fingerprint(),
        seed=seed,
        settings=settings,
        threads=torch.get_num_threads(),
        code=_CODE_VERSION,
    )
    path = cache_dir(folder) / f"classifier-{key}.pt"
    state = load_or_none(path)
    if state is not None:
        model = Classifier(settings.get("arch", "cnn"), settings.get("width", 128))
        model.load_state_dict(state)
        return model.eval()
    model = train_classifier(data.images, data.labels, seed=seed, **settings)
    save_checked(path, model.state_dict())
    return model


def load_or_train_judge(
    judge_data: MnistData, *, seed: int = 0, epochs: int = 15
) -> Classifier:
    """Return the judge classifier for this data, from the cache if it is there.

    The judge is trained only on ``judge_data`` (the book's judge split), which
    no generator ever sees, so it cannot reward a generator for memorising.
    Small random shifts of its training digits make it a fairer judge of
    digits that are not centred exactly as MNIST's are.
    """
    return load_or_train_classifier(
        judge_data, seed=seed, folder="judge", epochs=epochs, max_shift=JUDGE_MAX_SHIFT
    )


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``; the matrix square
    root's tiny imaginary parts from round-off are dropped.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
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
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
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
    from synthbook import gan

    labels = torch.arange(10).repeat_interleave(per_class)
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
