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
_CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


class Classifier(nn.Module):
    """A small digit classifier with a feature layer for distances."""

    def __init__(self, arch: str = "cnn", width: int = 128) -> None:
        super().__init__()
        if arch not in CLASSIFIER_ARCHES:
            raise ValueError(f"unknown classifier arch {arch!r}: use one of {CLASSIFIER_ARCHES}")
        self.arch = arch
        self.width = width
        if arch == "cnn":
            self.body = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(32 * 7 * 7, width), nn.ReLU(),
            )
        else:
            self.body = nn.Sequential(
                nn.Flatten(), nn.Linear(784, 2 * width), nn.ReLU(),
                nn.Linear(2 * width, width), nn.ReLU(),
            )
        self.head = nn.Linear(width, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return class logits for ``(N, 28, 28)`` images in ``[0, 1]``."""
        return self.head(self.body(images.view(-1, 1, 28, 28)))

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch: int = 1000) -> np.ndarray:
        """Penultimate-layer activations, ``(N, width)``."""
        self.eval()
        parts = [self.body(images[i : i + batch].view(-1, 1, 28, 28))
                 for i in range(0, len(images), batch)]
        return torch.cat(parts).numpy().astype(np.float64) if parts else np.zeros((0, self.width))

    @torch.no_grad()
    def predict_proba(self, images: torch.Tensor, batch: int = 1000) -> np.ndarray:
        """Class probabilities, ``(N, 10)``."""
        self.eval()
        parts = [F.softmax(self(images[i : i + batch]), dim=1)
                 for i in range(0, len(images), batch)]
        return torch.cat(parts).numpy() if parts else np.zeros((0, 10))

    def predict(self, images: torch.Tensor) -> np.ndarray:
        """Predicted digits, ``(N,)``."""
        return self.predict_proba(images).argmax(axis=1)


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
) -> Classifier:
    """Train a digit classifier with Adam; seeded and deterministic on a CPU.

    Parameters
    ----------
    images : torch.Tensor
        ``(N, 28, 28)`` in ``[0, 1]``.
    labels : torch.Tensor
        ``(N,)`` digits.
    arch : {"cnn", "mlp"}
    epochs, seed, batch_size, lr, width
        Training settings.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError("cannot train a classifier on no images")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    torch.manual_seed(seed)
    model = Classifier(arch, width)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    x = images.view(-1, 28, 28).float()
    y = torch.as_tensor(labels).long()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=rng)
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    model.eval()
    return model


def accuracy(model: Classifier, data: MnistData) -> float:
    """Share of ``data`` the model labels correctly."""
    return float((model.predict(data.images) == data.labels.numpy()).mean())


def load_or_train_judge(judge_data: MnistData, *, seed: int = 0, epochs: int = 15) -> Classifier:
    """Return the judge classifier for this data, from the cache if it is there.

    The judge is trained only on ``judge_data`` (the book's judge split), which
    no generator ever sees, so it cannot reward a generator for memorising.
    """
    key = make_key(data=judge_data.fingerprint(), seed=seed, epochs=epochs,
                   threads=torch.get_num_threads(), code=_CODE_VERSION)
    path = cache_dir("judge") / f"judge-{key}.pt"
    state = load_or_none(path)
    model = Classifier("cnn")
    if state is not None:
        model.load_state_dict(state)
        model.eval()
        return model
    model = train_classifier(judge_data.images, judge_data.labels, epochs=epochs, seed=seed)
    save_checked(path, model.state_dict())
    return model


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``; the matrix square
    root's tiny imaginary parts from round-off are dropped.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be 2-D of equal width, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each feature set needs at least two rows")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((S_a S_b)^(1/2)) = sum of sqrt(eigenvalues of S_a^(1/2) S_b S_a^(1/2)), a
    # symmetric matrix: stable where sqrtm of the non-symmetric product is not.
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    sqrt_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)
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
        radii = torch.cdist(ref, ref).kthvalue(k + 1, dim=1).values  # +1 skips the point itself
        distances = torch.cdist(torch.from_numpy(queries), ref)
        return float((distances <= radii.unsqueeze(0)).any(dim=1).double().mean())

    return coverage(real, fake), coverage(fake, real)


def nearest_neighbour_distances(samples: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
    """Euclidean pixel distance from each sample to its nearest reference image."""
    if len(reference) == 0:
        raise ValueError("the reference set is empty")
    if len(samples) == 0:
        return np.zeros(0)
    a = samples.reshape(len(samples), -1).double()
    b = reference.reshape(len(reference), -1).double()
    return torch.cdist(a, b).min(dim=1).values.numpy()


@dataclass(frozen=True)
class _Sampled:
    images: torch.Tensor
    labels: torch.Tensor


def _class_conditional_samples(generator: nn.Module, per_class: int, seed: int) -> _Sampled:
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
    generator: nn.Module, test: MnistData, per_class: int = 300, seed: int = 0, epochs: int = 8
) -> float:
    """Train a classifier only on generated digits; return its accuracy on real ``test``."""
    sampled = _class_conditional_samples(generator, per_class, seed + 1)
    model = train_classifier(sampled.images, sampled.labels, epochs=epochs, seed=seed)
    return accuracy(model, test)


def evaluate_generator(
    generator: nn.Module, splits: Splits, judge: Classifier, *, per_class: int = 100, seed: int = 0
) -> dict[str, Any]:
    """Every score of the GAN chapter for one generator.

    The Fréchet floor compares two disjoint real sets of the same size as the
    generated one (half of ``train`` against half of ``test``, per class).
    """
    sampled = _class_conditional_samples(generator, per_class, seed)
    fake_features = judge.features(sampled.images)
    rng = np.random.default_rng(seed)
    reference = splits.train.subset(_per_class_pick(splits.train, per_class, rng))
    other = splits.test.subset(_per_class_pick(splits.test, per_class, rng))
    real_features = judge.features(reference.images)
    precision, recall = knn_precision_recall(real_features, fake_features)
    return {
        "gan_test": float((judge.predict(sampled.images) == sampled.labels.numpy()).mean()),
        "gan_train": gan_train_accuracy(generator, splits.test, seed=seed),
        "frechet": frechet_distance(real_features, fake_features),
        "frechet_real_vs_real": frechet_distance(real_features, judge.features(other.images)),
        "precision": precision,
        "recall": recall,
    }


def _per_class_pick(data: MnistData, per_class: int, rng: np.random.Generator) -> np.ndarray:
    labels = data.labels.numpy()
    picks = []
    for digit in range(10):
        pool = np.flatnonzero(labels == digit)
        if len(pool) < per_class:
            raise ValueError(f"digit {digit} has {len(pool)} images, fewer than {per_class}")
        picks.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(picks))
