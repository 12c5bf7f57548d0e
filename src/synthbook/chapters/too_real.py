"""Do synthetic data "belong to anyone"? Copying statistics and membership inference.

The chapter "Too real, not real enough" uses this module to test the claim
that generated data are free of risk because they "do not belong to anyone":

- the distances and attacks of :mod:`synthbook.membership` (re-exported here,
  so that the chapter and its exercises need one import);
- :func:`data_copying_test`: the cell-wise Mann-Whitney statistic ``C_T`` of
  Meehan, Chaudhuri and Dasgupta (2020); negative values mean the samples sit
  closer to the training data than fresh real data do, read with the book's
  95% rule (:attr:`CopyingTest.verdict`);
- :func:`attacks_by_size_and_steps`: GANs trained on few or many images, for
  fewer or more steps, each attacked the same way;
- :func:`twelve_eights`: the GAN of the chapter on variability that saw only
  twelve 8s, with those twelve and the held-out 8s to attack it with;
- figures: :func:`show_nearest_pairs`, :func:`plot_distance_distributions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.stats import mannwhitneyu, norm
from sklearn.cluster import KMeans

from synthbook import gan, tails
from synthbook.data import MnistData, Splits, balanced_subset
from synthbook.membership import (
    AttackAUC,
    FeatureMap,
    Share,
    as_images,
    attack_auc,
    closer_to_train_share,
    discriminator_scores,
    distance_attack_scores,
    distance_to_closest_record,
    embed,
    leak_reading,
    membership_aucs,
    nearest_records,
    plot_attack_aucs,
)
from synthbook.plotting import OKABE_ITO, label_provenance
from synthbook.validate import check_count

__all__ = [
    "POOL_PER_CLASS",
    "SCHEDULE",
    "AttackAUC",
    "CopyingTest",
    "FeatureMap",
    "Share",
    "TailCase",
    "attack_auc",
    "attacks_by_size_and_steps",
    "closer_to_train_share",
    "copying_reading",
    "copying_summary",
    "data_copying_test",
    "discriminator_scores",
    "distance_attack_scores",
    "distance_to_closest_record",
    "leak_reading",
    "membership_aucs",
    "nearest_records",
    "plot_attack_aucs",
    "plot_distance_distributions",
    "share_reading",
    "show_nearest_pairs",
    "twelve_eights",
]

#: Generated digits per class that the black-box attacker sees.
POOL_PER_CLASS = 300
#: Images per digit the GAN saw (``None``: the whole training split) -> step counts.
SCHEDULE: dict[int | None, tuple[int, ...]] = {
    10: (300, 1000),
    None: (1000, gan.BOOK_STEPS),
}


@dataclass(frozen=True)
class CopyingTest:
    """Result of the data-copying test of Meehan et al. (2020).

    Attributes
    ----------
    c_t : float
        The weighted average of the per-cell Mann-Whitney z-scores; about 0
        without copying, negative with copying, positive when samples are
        farther from training than fresh real data.
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

    @property
    def null_sd(self) -> float:
        """Standard deviation of ``C_T`` without copying: ``sqrt(sum(w**2))``.

        Without copying each cell's z-score is close to standard normal and the
        cells hold disjoint samples, so their weighted mean has this spread.
        """
        return float(np.sqrt(np.sum(np.square(self.weights))))

    @property
    def null_bound(self) -> float:
        """Half-width of the range that holds 95% of ``C_T`` without copying."""
        return float(norm.ppf(0.975)) * self.null_sd

    @property
    def verdict(self) -> str:
        """The book's 95% rule, two-sided because both signs are read.

        ``"closer"`` (below ``-null_bound``: closer to the training data than new
        real data, the sign of copying), ``"farther"`` (above ``null_bound``), or
        ``"not distinguishable"`` from no copying.
        """
        if self.c_t < -self.null_bound:
            return "closer"
        if self.c_t > self.null_bound:
            return "farther"
        return "not distinguishable"


def _mann_whitney_z(generated: np.ndarray, test: np.ndarray) -> float:
    """z-score of U = #pairs with a generated distance above a test one (ties 1/2)."""
    m, n = len(generated), len(test)
    u = mannwhitneyu(generated, test, alternative="two-sided").statistic
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

    Raises
    ------
    ValueError
        If a set is empty, shapes differ, or no cell has enough points.
    """
    n_cells = check_count("n_cells", n_cells, minimum=1)
    min_per_cell = check_count("min_per_cell", min_per_cell, minimum=1)
    gen_t = as_images(generated, "generated")
    train_t = as_images(train, "train")
    test_t = as_images(test, "test")
    if not gen_t.shape[1:] == train_t.shape[1:] == test_t.shape[1:]:
        raise ValueError("generated, train and test must have the same image shape")
    gen_d = distance_to_closest_record(gen_t, train_t, features=features)
    test_d = distance_to_closest_record(test_t, train_t, features=features)
    kmeans = KMeans(n_clusters=n_cells, n_init=3, random_state=seed)
    kmeans.fit(embed(train_t, features).numpy())
    gen_cell = kmeans.predict(embed(gen_t, features).numpy())
    test_cell = kmeans.predict(embed(test_t, features).numpy())
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


def attacks_by_size_and_steps(
    splits: Splits,
    *,
    schedule: Mapping[int | None, tuple[int, ...]] = SCHEDULE,
    members_per_class: int = 100,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Train (or load) one GAN per size and step count, and attack each the same way.

    Parameters
    ----------
    splits : Splits
        The book's splits.
    schedule : mapping
        Images per digit the GAN trains on (``None``: the whole training
        split) -> the step counts to train it for.
    members_per_class : int, default 100
        For the GANs trained on the whole split: how many of its images per
        digit are attacked, against the whole test split. A GAN trained on a
        small subset is attacked with all of its images, against as many test
        images per digit.
    seed : int, default 0
        Seeds the subsets, the GANs and the generated pools.

    Returns
    -------
    list of dict
        One row per GAN and attack: ``train_size``, ``attack``, ``steps`` and
        ``result`` (an :class:`AttackAUC`), as :func:`plot_attack_aucs` reads them.
    """
    rows = []
    for per_class, step_counts in schedule.items():
        if per_class is None:
            train, held_out = splits.train, splits.test
            attacked = balanced_subset(splits.train, members_per_class, seed=seed)
        else:
            train = balanced_subset(splits.train, per_class, seed=seed)
            held_out = balanced_subset(splits.test, per_class, seed=seed)
            attacked = train
        for steps in step_counts:
            result = gan.load_or_train(
                train, gan.GANConfig(), steps=steps, seed=seed, progress=False
            )
            pool = gan.generate(
                result.generator, gan.class_labels(POOL_PER_CLASS), seed=seed + 2
            )
            found = membership_aucs(result, attacked, held_out, pool, seed=seed)
            for name, auc in found.items():
                rows.append(
                    {"train_size": len(train), "attack": name, "steps": steps}
                    | {"result": auc}
                )
    return rows


@dataclass
class TailCase:
    """The long-tailed training set of the chapter on variability, and its GAN.

    Attributes
    ----------
    digit : int
        The rare digit (8).
    data : MnistData
        The long-tailed training set: every training image except most of the
        rare digit's.
    kept : MnistData
        The few real images of the rare digit that stayed (the members).
    held_out : MnistData
        Every real test image of the rare digit (the non-members).
    result : synthbook.gan.TrainResult
        The GAN trained on ``data`` (``tail_gan`` in the chapter).
    """

    digit: int
    data: MnistData
    kept: MnistData
    held_out: MnistData
    result: gan.TrainResult


def twelve_eights(splits: Splits, *, progress: bool = False) -> TailCase:
    """Return the tails chapter's seed-0 GAN, trained on a training set with twelve 8s.

    The same call as in *Variability, exposure and the odd*, so the model
    comes from the shared cache when that chapter (or ``prepare``) trained it.
    """
    digit = tails.RARE_DIGIT
    data = tails.make_long_tail(splits.train, digit, tails.KEEP, seed=0)
    result = tails.load_or_train_tail_gan(splits.train, seed=0, progress=progress)
    kept = data.subset(np.flatnonzero(data.labels.numpy() == digit))
    held_out = splits.test.subset(np.flatnonzero(splits.test.labels.numpy() == digit))
    return TailCase(digit, data, kept, held_out, result)


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def show_nearest_pairs(
    samples: torch.Tensor | np.ndarray,
    reference: torch.Tensor | np.ndarray,
    *,
    n: int = 8,
    features: FeatureMap | None = None,
    labels: tuple[str, str] = ("synthetic", "nearest real\ntraining image"),
) -> Figure:
    """Draw the ``n`` samples closest to a reference image above their neighbours.

    Each column is a pair, titled with the pixel (or feature) distance. The
    figure is tagged "real and synthetic digits": the top row is generated,
    the bottom row real.
    """
    n = check_count("n", n, minimum=1)
    distances, indices = nearest_records(samples, reference, features=features)
    sample_t = as_images(samples, "samples").reshape(-1, 28, 28)
    ref_t = as_images(reference, "reference").reshape(-1, 28, 28)
    order = np.argsort(distances, kind="stable")[:n]
    fig, axes = plt.subplots(
        2, len(order), figsize=(1.0 * len(order) + 1.4, 2.7), squeeze=False
    )
    for col, i in enumerate(order):
        for row, image in enumerate((sample_t[i], ref_t[indices[i]])):
            ax = axes[row, col]
            ax.imshow(image.numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, col].set_title(f"d={distances[i]:.1f}", fontsize=9)
    for row, text in enumerate(labels):
        axes[row, 0].set_ylabel(text, rotation=0, ha="right", va="center")
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.88))
    # The tag goes on a strip of its own: on a digit's axes it would shrink them all.
    strip = fig.add_axes((0.0, 0.86, 0.99, 0.1))
    strip.axis("off")
    label_provenance(strip, "mixed")
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


# --------------------------------------------------------------------------
# Readings: the words the chapter glues into its sentences
# --------------------------------------------------------------------------


def share_reading(share: Share) -> str:
    """Say which way a closer-to-training share leans, by its 95% interval."""
    if share.low > 0.5:
        return "leans towards the training set"
    if share.high < 0.5:
        return "leans towards the held-out set"
    return "is compatible with one half"


def copying_reading(test: CopyingTest) -> str:
    """Say where ``C_T`` falls against the 95% range it has without copying."""
    return {
        "closer": (
            "lies below that interval: by this test the generated digits sit closer "
            "to the training set than new real digits do, a sign of copying"
        ),
        "farther": (
            "lies above that interval: by this test the generated digits sit farther "
            "from the training set than new real digits do, no sign of copying "
            "but of samples unlike the data"
        ),
        "not distinguishable": (
            "lies within that interval: by this test the generated digits sit no "
            "closer to the training set than new real digits do"
        ),
    }[test.verdict]


def copying_summary(test: CopyingTest) -> str:
    """One line for the 'Paper and miniature' table: ``C_T``, its range, its verdict."""
    verdict = {
        "closer": "closer to the training set than new real digits, a sign of copying",
        "farther": "farther from the training set than new real digits",
        "not distinguishable": "no closer to the training set than new real digits",
    }[test.verdict]
    return (
        f"C_T = {test.c_t:.1f} over {test.cells_used} cells, where without copying "
        f"95% of values fall between {-test.null_bound:.2f} and "
        f"{test.null_bound:.2f}: the generated digits sit {verdict}"
    )
