"""Do synthetic data "belong to anyone"? Copying statistics and membership inference.

The chapter "Too real, not real enough" uses this module to test the claim
that generated data are risk-free because they belong to no one:

- :func:`nearest_records` and :func:`distance_to_closest_record`: for each
  sample, its nearest reference image and the distance to it (DCR), in pixel
  space or in any feature space (for example the judge's features);
  :func:`show_nearest_pairs` draws the closest pairs side by side.
- :func:`closer_to_train_share`: the share of generated samples that lie closer
  to the training set than to an equally large held-out set (0.5 when the
  generator has not memorised), with a seeded bootstrap interval.
- :func:`data_copying_test`: the cell-wise Mann-Whitney statistic ``C_T`` of
  Meehan, Chaudhuri and Dasgupta (2020); clearly negative values mean the
  samples sit closer to the training data than fresh real data do.
- Membership inference: the white-box attack of Hayes et al. (2019, LOGAN),
  which scores a candidate by the discriminator's output
  (:func:`discriminator_scores`), and a black-box attack that scores it by
  minus its distance to the nearest of many generated samples
  (:func:`distance_attack_scores`). :func:`attack_auc` turns scores of
  members and non-members into a ROC AUC with a bootstrap interval.

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

from synthbook.data import MnistData
from synthbook.plotting import OKABE_ITO

if TYPE_CHECKING:
    from synthbook.gan import TrainResult

#: A feature map: images ``(N, 28, 28)`` in ``[0, 1]`` to an ``(N, D)`` array.
FeatureMap = Callable[[torch.Tensor], np.ndarray]


# --------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------


def _as_tensor(images: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    tensor = torch.as_tensor(
        np.asarray(images) if not isinstance(images, torch.Tensor) else images
    )
    if tensor.ndim < 2:
        raise ValueError(
            f"{name} must have shape (N, ...) with one row per item, "
            f"got shape {tuple(tensor.shape)}"
        )
    if len(tensor) == 0:
        raise ValueError(f"{name} is empty: give at least one image")
    return tensor.float()


def _embed(images: torch.Tensor, features: FeatureMap | None) -> torch.Tensor:
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
        If either set is empty or the per-image shapes differ.
    """
    a = _as_tensor(samples, "samples")
    b = _as_tensor(reference, "reference")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"samples and reference must have the same image shape, "
            f"got {tuple(a.shape[1:])} and {tuple(b.shape[1:])}"
        )
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    ea, eb = _embed(a, features), _embed(b, features)
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
# Copying statistics
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


def _bootstrap_mean(flags: np.ndarray, n_boot: int, seed: int, level: float) -> Share:
    rng = np.random.default_rng(seed)
    means = flags[rng.integers(0, len(flags), size=(n_boot, len(flags)))].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Share(float(flags.mean()), float(low), float(high), len(flags))


def _check_bootstrap(n_boot: int, level: float) -> None:
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level}")


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
    train_t = _as_tensor(train, "train")
    holdout_t = _as_tensor(holdout, "holdout")
    rng = np.random.default_rng(seed)
    size = min(len(train_t), len(holdout_t))
    train_t = train_t[np.sort(rng.choice(len(train_t), size, replace=False))]
    holdout_t = holdout_t[np.sort(rng.choice(len(holdout_t), size, replace=False))]
    to_train = distance_to_closest_record(samples, train_t, features=features)
    to_holdout = distance_to_closest_record(samples, holdout_t, features=features)
    flags = (to_train < to_holdout) + 0.5 * (to_train == to_holdout)
    return _bootstrap_mean(flags.astype(np.float64), n_boot, seed + 1, level)


@dataclass(frozen=True)
class CopyingTest:
    """Result of the data-copying test of Meehan et al. (2020).

    Attributes
    ----------
    c_t : float
        The weighted average of the per-cell Mann-Whitney z-scores; about 0
        without copying, clearly negative (below about -3) with copying,
        positive when samples are farther from training than fresh real data.
    z_scores : ndarray
        The z-score of each cell that was used.
    weights : ndarray
        The share of test images in each used cell (renormalised to sum to 1).
    cells_used : int
        Cells with at least ``min_per_cell`` generated and test points.
    """

    c_t: float
    z_scores: np.ndarray
    weights: np.ndarray
    cells_used: int


def _mann_whitney_z(generated: np.ndarray, test: np.ndarray) -> float:
    """z-score of U = #pairs with a generated distance above a test distance."""
    m, n = len(generated), len(test)
    both = np.concatenate([generated, test])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    ranks[order] = np.arange(1, len(both) + 1)
    # Average ranks over ties.
    values = both[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or values[end] != values[start]:
            ranks[order[start:end]] = (start + 1 + end) / 2
            start = end
    u = ranks[:m].sum() - m * (m + 1) / 2
    return float((u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12))


def data_copying_test(
    generated: torch.Tensor | np.ndarray,
    train: torch.Tensor | np.ndarray,
    test: torch.Tensor | np.ndarray,
    *,
    n_cells: int = 5,
    min_per_cell: int = 20,
    features: FeatureMap | None = None,
    seed: int = 0,
) -> CopyingTest:
    """Run the data-copying test ``C_T`` of Meehan, Chaudhuri and Dasgupta (2020).

    The space is cut into ``n_cells`` cells by k-means on the training images.
    In each cell, the distances from generated points to their nearest
    training image are compared with those from held-out test points by a
    Mann-Whitney U test; the cell z-scores are averaged, weighted by the share
    of test points in each cell. Cells with fewer than ``min_per_cell``
    generated or test points are left out, as in the paper.

    Returns
    -------
    CopyingTest

    Raises
    ------
    ValueError
        If a set is empty, shapes differ, or no cell has enough points.
    """
    from sklearn.cluster import KMeans

    if n_cells < 1 or min_per_cell < 1:
        raise ValueError("n_cells and min_per_cell must be at least 1")
    gen_t = _as_tensor(generated, "generated")
    train_t = _as_tensor(train, "train")
    test_t = _as_tensor(test, "test")
    if not gen_t.shape[1:] == train_t.shape[1:] == test_t.shape[1:]:
        raise ValueError("generated, train and test must have the same image shape")
    gen_d = distance_to_closest_record(gen_t, train_t, features=features)
    test_d = distance_to_closest_record(test_t, train_t, features=features)
    kmeans = KMeans(n_clusters=n_cells, n_init=3, random_state=seed)
    kmeans.fit(_embed(train_t, features).numpy())
    gen_cell = kmeans.predict(_embed(gen_t, features).numpy())
    test_cell = kmeans.predict(_embed(test_t, features).numpy())
    z_scores, weights = [], []
    for cell in range(n_cells):
        g, t = gen_d[gen_cell == cell], test_d[test_cell == cell]
        if len(g) >= min_per_cell and len(t) >= min_per_cell:
            z_scores.append(_mann_whitney_z(g, t))
            weights.append(len(t) / len(test_d))
    if not z_scores:
        raise ValueError(
            f"no cell holds {min_per_cell} generated and test points: "
            "use fewer cells, a smaller min_per_cell, or more samples"
        )
    w = np.asarray(weights) / np.sum(weights)
    z = np.asarray(z_scores)
    return CopyingTest(float((w * z).sum()), z, w, len(z))


# --------------------------------------------------------------------------
# Membership inference
# --------------------------------------------------------------------------


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
        Candidates in ``[0, 1]``; converted to the model's ``[-1, 1]``.
    labels : array of shape (N,)
        Their digits (the discriminator is conditional).

    Returns
    -------
    ndarray of shape (N,)
        Higher means "looks like training data" to the discriminator.
    """
    x = _as_tensor(images, "images")
    y = torch.as_tensor(np.asarray(labels)).long()
    if y.shape != (len(x),):
        raise ValueError(
            f"need one label per image: {len(x)} images, labels of shape "
            f"{tuple(y.shape)}"
        )
    was_training = discriminator.training
    discriminator.eval()
    scores = [
        discriminator(
            x[i : i + batch].view(-1, 1, 28, 28) * 2.0 - 1.0, y[i : i + batch]
        )[0]
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
    def above_chance(self) -> bool:
        """Whether the whole confidence interval lies above 0.5 (guessing)."""
        return self.low > 0.5

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


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def show_nearest_pairs(
    samples: torch.Tensor | np.ndarray,
    reference: torch.Tensor | np.ndarray,
    *,
    n: int = 8,
    features: FeatureMap | None = None,
    labels: tuple[str, str] = ("generated", "nearest training image"),
) -> Figure:
    """Draw the ``n`` samples closest to a reference image above their neighbours.

    Each column is a pair, titled with the pixel (or feature) distance.
    """
    distances, indices = nearest_records(samples, reference, features=features)
    sample_t = _as_tensor(samples, "samples").reshape(-1, 28, 28)
    ref_t = _as_tensor(reference, "reference").reshape(-1, 28, 28)
    order = np.argsort(distances, kind="stable")[: max(1, n)]
    fig, axes = plt.subplots(
        2, len(order), figsize=(1.0 * len(order) + 1.2, 2.5), squeeze=False
    )
    for col, i in enumerate(order):
        for row, image in enumerate((sample_t[i], ref_t[indices[i]])):
            ax = axes[row, col]
            ax.imshow(
                image.numpy(),
                cmap="gray_r",
                vmin=0.0,
                vmax=1.0,
                interpolation="nearest",
            )
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, col].set_title(f"d={distances[i]:.1f}", fontsize=9)
    axes[0, 0].set_ylabel(labels[0], rotation=0, ha="right", va="center")
    axes[1, 0].set_ylabel(
        labels[1].replace(" ", "\n", 1), rotation=0, ha="right", va="center"
    )
    fig.tight_layout()
    return fig


def plot_distance_distributions(
    groups: Mapping[str, np.ndarray],
    *,
    xlabel: str = "distance to closest training image",
    ax: plt.Axes | None = None,
) -> Figure:
    """Overlay histograms (densities) of distance distributions, one per group."""
    if not groups:
        raise ValueError("give at least one group of distances")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.2))
    everything = np.concatenate([np.asarray(v, dtype=float) for v in groups.values()])
    bins = np.linspace(0.0, float(everything.max()) * 1.02 + 1e-9, 40)
    for colour, (name, values) in zip(OKABE_ITO, groups.items(), strict=False):
        ax.hist(
            values,
            bins=bins,
            density=True,
            histtype="step",
            linewidth=2,
            color=colour,
            label=f"{name} (median {np.median(values):.1f})",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.figure.tight_layout()
    return ax.figure


def plot_attack_aucs(
    rows: Sequence[Mapping[str, object]],
    *,
    group: str = "train_size",
    series: str = "attack",
) -> Figure:
    """Points with CI bars: attack AUC per ``group`` value, one colour per ``series``.

    Each row needs the keys ``group``, ``series``, ``"steps"`` and ``"result"``
    (an :class:`AttackAUC`). Step counts are drawn as marker shapes.
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
    ax.set_xlabel("training images the GAN saw")
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
