"""Precision chapter: recipes, flag gaps and style groups on constructed cases."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from synthbook import stats
from synthbook.chapters import precision
from synthbook.data import balanced_subset, book_splits, load_mnist


@pytest.fixture(scope="module")
def splits():
    return book_splits(load_mnist("embedded", verbose=False), seed=0)


def test_flag_gap_recovers_a_known_difference() -> None:
    rng = np.random.default_rng(0)
    values = np.r_[rng.binomial(1, 0.6, 400), rng.binomial(1, 0.2, 1600)].astype(float)
    odd = np.r_[np.ones(400, bool), np.zeros(1600, bool)]
    gap, low, high = precision.flag_gap(values, odd, ~odd, n_boot=3000)
    assert gap == pytest.approx(values[odd].mean() - values[~odd].mean())
    half = 1.96 * np.sqrt(0.6 * 0.4 / 400 + 0.2 * 0.8 / 1600)  # normal approximation
    assert low == pytest.approx(gap - half, abs=0.01)
    assert high == pytest.approx(gap + half, abs=0.01)
    with pytest.raises(ValueError, match="at least one digit"):
        precision.flag_gap(values, np.zeros(2000, bool), odd)


def test_style_groups_pick_the_slanted_and_the_heavy() -> None:
    upright = torch.zeros(40, 28, 28)
    upright[:, 4:24, 13:15] = 1.0  # a vertical bar
    slanted = torch.zeros(2, 28, 28)
    for row in range(4, 24):  # a bar that leans right
        slanted[:, row, 20 - row // 2 : 22 - row // 2] = 1.0
    heavy = torch.zeros(2, 28, 28)
    heavy[:, 4:24, 10:18] = 1.0
    groups = precision.style_groups(torch.cat([upright, slanted, heavy]), share=0.05)
    names = list(groups)
    assert names[0] == "ordinary" and names[1].startswith("most slanted")
    assert groups[names[1]][40:42].all() and groups[names[2]][42:].all()
    assert not groups["ordinary"][40:].any() and groups["ordinary"][:40].all()


def test_recipes_and_rows(splits) -> None:
    real = balanced_subset(splits.train, 3, seed=0)
    fake = balanced_subset(splits.test, 2, seed=0)
    bespoke = precision.Bespoke(real, None, fake.images, fake.labels)
    both = precision._recipe(bespoke, "real + synthetic")
    assert len(both[0]) == 50 and torch.equal(both[1][:30], real.labels)
    rows = precision.precision_rows(splits, {3: bespoke}, seeds=(0, 1))
    assert len(rows) == len(precision.RECIPES) * 2
    assert {r["strategy"] for r in rows} == set(precision.RECIPES)
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    fig = precision.plot_precision(stats.summarise(rows, "accuracy"), (3,))
    plt.close(fig)


def test_listed_and_plot_flags() -> None:
    assert precision.listed([]) == "none" and precision.listed([10]) == "10"
    assert precision.listed([10, 30, 100]) == "10, 30 and 100"
    flags = {1.5: np.array([0.0, 1.0, 0.5]), 3.0: np.array([1.0, 1.0, 0.0])}
    groups = {
        "ordinary": np.array([True, False, True]),
        "odd": np.array([False, True, False]),
    }
    fig = precision.plot_flags(flags, groups)
    assert [line.get_label() for line in fig.axes[0].lines] == ["ordinary", "odd"]
    assert fig.axes[0].lines[1].get_ydata().tolist() == [1.0, 1.0]
    plt.close(fig)


def test_bespoke_attacks_name_their_size(splits) -> None:
    from synthbook import gan

    real = balanced_subset(splits.train, 7, seed=0)
    result = gan.train_gan(real, gan.GANConfig(batch_size=16), steps=3, progress=False)
    synthetic = gan.generate(result.generator, gan.class_labels(5), seed=1)
    sets = {7: precision.Bespoke(real, result, synthetic, gan.class_labels(5))}
    rows = precision.bespoke_attacks(splits, sets)
    assert [r["attack"] for r in rows] == ["white-box", "black-box"]
    assert all(r["n"] == 7 and r["train_size"] == 70 for r in rows)
    assert all(r["result"].n_members == r["result"].n_nonmembers == 70 for r in rows)


def test_readings_name_the_scales_and_sizes() -> None:
    gaps = {1.5: (0.1, 0.05, 0.2), 2.0: (0.0, -0.1, 0.1), 3.0: (-0.2, -0.3, -0.1)}
    reading = precision.gap_reading(gaps)
    assert reading == (
        "clearly more often than ordinary digits at s = 1.5, and "
        "clearly less often than ordinary digits at s = 3.0"
    )
    assert precision.gap_reading({2.0: (0.0, -0.1, 0.1)}).startswith("at no noise")
    assert precision.for_sizes([]) == "for no n"
    assert precision.for_sizes([10, 30]) == "for n = 10 and 30"
