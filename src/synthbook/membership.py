"""Distances to the closest record and membership inference, for any generator.

Three chapters ask what generated digits give away about the real digits a
generator learnt from (*Too real*, *A defence with a price*, *Precision and
portability*); the tools they share live here:

- :func:`nearest_records` and :func:`distance_to_closest_record`: each sample's
  nearest reference image and its distance (the DCR), in pixels or in any
  feature space (for example the judge's features).
- :func:`closer_to_train_share`: the share of generated samples that lie closer
  to the training set than to an equally large held-out set (about 0.5 when the
  generator has not memorised), with a seeded bootstrap interval.
- Membership inference: the white-box attack of Hayes et al. (2019, LOGAN),
  which scores a candidate by the discriminator's output
  (:func:`discriminator_scores`), and a black-box attack in the spirit of
  Hilprecht et al. (2019) and Chen et al. (2020, GAN-Leaks), which scores it
  by minus its distance to the nearest of many generated samples
  (:func:`distance_attack_scores`). :func:`attack_auc` turns the scores of
  members and non-members into a ROC AUC with a bootstrap interval, and
  :attr:`AttackAUC.leaks` applies the book's rule: an attack leaks when its
  whole 95% interval lies above 0.5 (guessing).

Images are ``(N, 28, 28)`` (or any ``(N, ...)``) arrays or tensors in ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from synthbook import gan
from synthbook.data import MnistData
from synthbook.plotting import OKABE_ITO
from synthbook.validate import check_count, check_finite, check_probability

if TYPE_CHECKING:
    from synthbook.gan import TrainResult

#: Whether the book's discriminator reads images in [0, 1], as everything else does
#: (the agreed interface; older versions of synthbook.gan read [-1, 1]). Once every
#: branch has the new discriminator this is always True and can go.
DISCRIMINATOR_READS_UNIT_RANGE = hasattr(gan, "to_unit_range")

__all__ = [
    "AttackAUC",
    "FeatureMap",
    "Share",
    "as_images",
    "attack_auc",
    "closer_to_train_share",
    "discriminator_scores",
    "distance_attack_scores",
    "discriminator_input",
    "distance_to_closest_record",
    "embed",
    "leak_reading",
    "membership_aucs",
    "nearest_records",
    "plot_attack_aucs",
]

#: A feature map: images ``(N, 28, 28)`` in ``[0, 1]`` to an ``(N, D)`` array.
FeatureMap = Callable[[torch.Tensor], np.ndarray]


def as_images(images: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    """Return ``images`` as a float tensor, refusing empty, shapeless or non-finite input.

    ``name`` is the argument's name, used in the error message.
    """
    tensor = torch.as_tensor(
        images if isinstance(images, torch.Tensor) else np.asarray(images)
    )
    if tensor.ndim < 2:
        raise ValueError(
            f"{name} must have shape (N, ...) with one row per item, "
            f"got shape {tuple(tensor.shape)}"
        )
    if len(tensor) == 0:
        raise ValueError(f"{name} is empty: give at least one image")
    check_finite(name, tensor)
    return tensor.float()


def embed(images: torch.Tensor, features: FeatureMap | None) -> torch.Tensor:
    """Flatten ``images`` to float64 rows, or map them with ``features``."""
    if features is None:
        return images.reshape(len(images), -1).double()
    return torch.as_tensor(np.asarray(features(images), dtype=np.float64))


def nearest_records(
    samples: torch.Tensor | np.ndarray,
    reference: torch.Tensor | np.ndarray,
    *,
    features: FeatureMap | None = None,
    batch: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Find each sample's nearest reference image (Euclidean distance).

    Parameters
    ----------
    samples : array of shape (N, ...)
        The images to look up, for example generated digits.
    reference : array of shape (M, ...)
        The images to search, for example the training set. Must have the same
        per-image shape as ``samples``.
    features : callable, optional
        Compare in this feature space (e.g. ``judge.features``) instead of
        raw pixels.
    batch : int, default 1024
        Samples compared at a time (bounds memory).

    Returns
    -------
    distances : ndarray of shape (N,)
        Distance to the nearest reference image.
    indices : ndarray of shape (N,)
        Its index in ``reference``.

    Raises
    ------
    ValueError
        If either set is empty, holds NaN or infinity, or the per-image shapes
        differ.
    """
    a = as_images(samples, "samples")
    b = as_images(reference, "reference")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"samples and reference must have the same image shape, "
            f"got {tuple(a.shape[1:])} and {tuple(b.shape[1:])}"
        )
    batch = check_count("batch", batch, minimum=1)
    ea, eb = embed(a, features), embed(b, features)
    distances, indices = [], []
    for start in range(0, len(ea), batch):
        found = torch.cdist(ea[start : start + batch], eb).min(dim=1)
        distances.append(found.values)
        indices.append(found.indices)
    return torch.cat(distances).numpy(), torch.cat(indices).numpy()


def distance_to_closest_record(
    samples: torch.Tensor | np.ndarray,
    reference: torch.Tensor | np.ndarray,
    *,
    features: FeatureMap | None = None,
) -> np.ndarray:
    """Distance from each sample to its closest reference image (the DCR).

    See :func:`nearest_records` for the parameters.
    """
    return nearest_records(samples, reference, features=features)[0]


# --------------------------------------------------------------------------
# Closer to the training set, or to new real data?
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A proportion with a bootstrap confidence interval."""

    value: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return (
            f"{self.value:.2f} (95% CI {self.low:.2f} to {self.high:.2f}, n={self.n})"
        )


def _check_bootstrap(n_boot: int, level: float) -> None:
    check_count("n_boot", n_boot, minimum=1)
    check_probability("level", level, open_ends=True)


def closer_to_train_share(
    samples: torch.Tensor | np.ndarray,
    train: torch.Tensor | np.ndarray,
    holdout: torch.Tensor | np.ndarray,
    *,
    features: FeatureMap | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Share:
    """Share of samples closer to the training set than to a held-out set.

    The larger of ``train`` and ``holdout`` is first subsampled (seeded) to the
    size of the smaller, so that a generator that has learnt the distribution
    without copying gives a share near 0.5; one that returns its training
    images gives 1. Ties count one half.

    Parameters
    ----------
    samples : array of shape (N, ...)
        Generated images.
    train : array of shape (M, ...)
        The generator's training images.
    holdout : array of shape (K, ...)
        Real images from the same distribution that the generator never saw.
    features : callable, optional
        Compare in a feature space instead of pixels.
    n_boot : int, default 1000
        Bootstrap resamples of the samples for the interval.
    seed : int, default 0
        Seeds the subsampling and the bootstrap.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    Share
    """
    _check_bootstrap(n_boot, level)
    train_t = as_images(train, "train")
    holdout_t = as_images(holdout, "holdout")
    rng = np.random.default_rng(seed)
    size = min(len(train_t), len(holdout_t))
    train_t = train_t[np.sort(rng.choice(len(train_t), size, replace=False))]
    holdout_t = holdout_t[np.sort(rng.choice(len(holdout_t), size, replace=False))]
    to_train = distance_to_closest_record(samples, train_t, features=features)
    to_holdout = distance_to_closest_record(samples, holdout_t, features=features)
    flags = (to_train < to_holdout) + 0.5 * (to_train == to_holdout)
    boot_rng = np.random.default_rng(seed + 1)
    # Resample counts, not indices: a (n_boot, N) table of draws is never built.
    counts = boot_rng.multinomial(
        len(flags), np.full(len(flags), 1 / len(flags)), n_boot
    )
    means = counts @ flags / len(flags)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Share(float(flags.mean()), float(low), float(high), len(flags))


# --------------------------------------------------------------------------
# Membership inference
# --------------------------------------------------------------------------


def discriminator_input(images: torch.Tensor) -> torch.Tensor:
    """Return ``(N, 28, 28)`` images in ``[0, 1]`` as the book's discriminator reads them."""
    x = images.reshape(-1, 1, 28, 28)
    return x if DISCRIMINATOR_READS_UNIT_RANGE else x * 2 - 1


@torch.no_grad()
def discriminator_scores(
    discriminator: torch.nn.Module,
    images: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray | Sequence[int],
    *,
    batch: int = 1000,
) -> np.ndarray:
    """White-box attack score (Hayes et al. 2019): the discriminator's logit.

    Parameters
    ----------
    discriminator : synthbook.gan.Discriminator
        A trained conditional discriminator.
    images : array of shape (N, 28, 28)
        Candidates in ``[0, 1]``.
    labels : array of shape (N,)
        Their digits (the discriminator is conditional).

    Returns
    -------
    ndarray of shape (N,)
        Higher means "looks like training data" to the discriminator.
    """
    x = as_images(images, "images")
    y = torch.as_tensor(np.asarray(labels)).long()
    if y.shape != (len(x),):
        raise ValueError(
            f"need one label per image: {len(x)} images, labels of shape "
            f"{tuple(y.shape)}"
        )
    was_training = discriminator.training
    discriminator.eval()
    scores = [
        discriminator(discriminator_input(x[i : i + batch]), y[i : i + batch])[0]
        for i in range(0, len(x), batch)
    ]
    discriminator.train(was_training)
    return torch.cat(scores).double().numpy()


def distance_attack_scores(
    candidates: torch.Tensor | np.ndarray,
    generated: torch.Tensor | np.ndarray,
    *,
    features: FeatureMap | None = None,
) -> np.ndarray:
    """Black-box attack score: minus the distance to the nearest generated sample.

    The attacker sees only generated data: a candidate that some generated
    sample resembles closely is guessed to have been in the training set.
    """
    return -distance_to_closest_record(candidates, generated, features=features)


@dataclass(frozen=True)
class AttackAUC:
    """ROC AUC of a membership attack, with a bootstrap confidence interval.

    0.5 is guessing; 1 means every member scores above every non-member.
    """

    auc: float
    low: float
    high: float
    n_members: int
    n_nonmembers: int

    @property
    def leaks(self) -> bool:
        """The book's leak rule: the whole confidence interval lies above 0.5."""
        return self.low > 0.5

    @property
    def above_chance(self) -> bool:
        """Same as :attr:`leaks` (the older name)."""
        return self.leaks

    def __str__(self) -> str:
        return (
            f"AUC {self.auc:.2f} (95% CI {self.low:.2f} to {self.high:.2f}; "
            f"{self.n_members} members, {self.n_nonmembers} non-members)"
        )


def attack_auc(
    member_scores: np.ndarray | Sequence[float],
    nonmember_scores: np.ndarray | Sequence[float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> AttackAUC:
    """ROC AUC of membership scores (members are the positives), with a CI.

    The interval is a percentile bootstrap that resamples members and
    non-members separately (seeded).

    Raises
    ------
    ValueError
        If either group is empty or the scores are not finite.
    """
    _check_bootstrap(n_boot, level)
    pos = np.asarray(member_scores, dtype=np.float64).ravel()
    neg = np.asarray(nonmember_scores, dtype=np.float64).ravel()
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("need at least one member score and one non-member score")
    if not (np.isfinite(pos).all() and np.isfinite(neg).all()):
        raise ValueError("scores must be finite numbers")
    truth = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    auc = float(roc_auc_score(truth, np.r_[pos, neg]))
    # The AUC is the share of (member, non-member) pairs ordered correctly (ties
    # count one half), so a resample's AUC is the pair table weighted by how
    # often each score was drawn: one matrix product instead of n_boot calls.
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for start in range(0, n_boot, 100):
        size = min(100, n_boot - start)
        draw_p = rng.multinomial(len(pos), np.full(len(pos), 1 / len(pos)), size=size)
        draw_n = rng.multinomial(len(neg), np.full(len(neg), 1 / len(neg)), size=size)
        boots[start : start + size] = ((draw_p @ wins) * draw_n).sum(axis=1) / (
            len(pos) * len(neg)
        )
    alpha = (1 - level) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return AttackAUC(auc, float(low), float(high), len(pos), len(neg))


def leak_reading(result: AttackAUC) -> str:
    """Say in words whether an attack leaks (its whole interval above 0.5)."""
    if result.leaks:
        return "a leak by the book's rule: its whole 95% interval lies above 0.5"
    if result.high < 0.5:
        return "not a leak: its whole 95% interval lies below 0.5"
    return "not a leak by the book's rule: its 95% interval includes 0.5"


def membership_aucs(
    result: TrainResult,
    members: MnistData,
    nonmembers: MnistData,
    generated: torch.Tensor,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, AttackAUC]:
    """Run both attacks on one trained GAN.

    Parameters
    ----------
    result : synthbook.gan.TrainResult
        The trained GAN; its ``discriminator`` is used by the white-box attack.
    members : MnistData
        Images the GAN was trained on.
    nonmembers : MnistData
        Real images from the same distribution that it never saw.
    generated : torch.Tensor
        Samples from its generator, the only thing the black-box attacker sees.

    Returns
    -------
    dict
        ``{"white-box": AttackAUC, "black-box": AttackAUC}``.
    """
    disc = result.discriminator
    white = attack_auc(
        discriminator_scores(disc, members.images, members.labels),
        discriminator_scores(disc, nonmembers.images, nonmembers.labels),
        n_boot=n_boot,
        seed=seed,
    )
    black = attack_auc(
        distance_attack_scores(members.images, generated),
        distance_attack_scores(nonmembers.images, generated),
        n_boot=n_boot,
        seed=seed,
    )
    return {"white-box": white, "black-box": black}


def plot_attack_aucs(
    rows: Sequence[Mapping[str, object]],
    *,
    group: str = "train_size",
    series: str = "attack",
    xlabel: str = "training images the GAN saw",
) -> Figure:
    """Points with CI bars: attack AUC per ``group`` value, one colour per ``series``.

    Each row needs the keys ``group``, ``series``, ``"steps"`` and ``"result"``
    (an :class:`AttackAUC`). Step counts are drawn as marker shapes; a dotted
    line marks 0.5, guessing.
    """
    if not rows:
        raise ValueError("no rows to plot")
    groups = list(dict.fromkeys(r[group] for r in rows))
    names = list(dict.fromkeys(r[series] for r in rows))
    steps = list(dict.fromkeys(r["steps"] for r in rows))
    markers = "os^D"
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    width = 0.8 / max(1, len(names) * len(steps))
    for s_i, name in enumerate(names):
        for t_i, step in enumerate(steps):
            offset = (s_i * len(steps) + t_i + 0.5) * width - 0.4
            pick = [r for r in rows if r[series] == name and r["steps"] == step]
            if not pick:
                continue
            x = [groups.index(r[group]) + offset for r in pick]
            res = [r["result"] for r in pick]
            y = [r.auc for r in res]
            err = [[r.auc - r.low for r in res], [r.high - r.auc for r in res]]
            ax.errorbar(
                x,
                y,
                yerr=err,
                fmt=markers[t_i % 4],
                color=OKABE_ITO[s_i],
                capsize=3,
                label=f"{name}, {step:,} steps",
            )
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{g:,}" if isinstance(g, int) else str(g) for g in groups])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("attack ROC AUC")
    ax.set_ylim(0.3, 1.02)
    ax.legend(
        frameon=False,
        fontsize=8,
        ncol=2,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
    )
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
