"""Precision chapter: recipes, flag gaps and style groups on constructed cases."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from synthbook import stats
from synthbook.chapters import precision
from synthbook.chapters.precision.bespoke import _recipe
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
    both = _recipe(bespoke, "real + synthetic")
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
    for row in rows:  # the AUC in the row is the AUC of the scores it carries
        members, others = row["scores"]
        truth = np.r_[np.ones(len(members)), np.zeros(len(others))]
        auc = roc_auc_score(truth, np.r_[members, others])
        assert row["result"].auc == pytest.approx(auc)


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


def _scores(rng, shift, n=200):
    """Member scores shifted by ``shift`` standard deviations above non-members."""
    return rng.normal(shift, 1, n), rng.normal(0, 1, n)


def test_auc_difference_against_sklearn_and_a_normal_approximation() -> None:
    rng = np.random.default_rng(1)
    strong, weak = _scores(rng, 1.5), _scores(rng, 0.0)
    diff = precision.auc_difference(strong, weak, n_boot=4000)

    def auc(pair):
        truth = np.r_[np.ones(len(pair[0])), np.zeros(len(pair[1]))]
        return roc_auc_score(truth, np.r_[pair[0], pair[1]])

    assert diff["mean"] == pytest.approx(auc(strong) - auc(weak))

    # Hanley and McNeil's (1982) standard error of an AUC, for independent sets
    def se(a, n=200):
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        return np.sqrt((a * (1 - a) + (n - 1) * (q1 - a * a + q2 - a * a)) / n / n)

    half = 1.96 * np.hypot(se(auc(strong)), se(auc(weak)))
    assert diff["low"] == pytest.approx(diff["mean"] - half, abs=0.02)
    assert diff["high"] == pytest.approx(diff["mean"] + half, abs=0.02)
    assert diff["verdict"] == "higher"
    assert precision.auc_difference(weak, strong)["verdict"] == "lower"
    same = precision.auc_difference(weak, _scores(rng, 0.0))
    assert same["verdict"] == "not distinguishable"
    with pytest.raises(ValueError, match="at least one member"):
        precision.auc_difference((np.array([]), weak[1]), weak)
    with pytest.raises(ValueError, match="finite"):
        precision.auc_difference((np.array([np.nan]), weak[1]), weak)


def test_exposure_reading_has_one_wording_per_case() -> None:
    def read(white, black):
        return precision.exposure_reading(
            {"white-box": white, "black-box": black}, 10, 30
        )

    both = read("higher", "higher")
    assert both.startswith("both attacks did clearly better")
    assert "(n = 10)" in both and "(n = 30)" in both
    assert read("higher", "not distinguishable").startswith("only the white-box")
    assert read("lower", "higher").startswith("only the black-box")
    for white, black in [("not distinguishable", "lower"), ("lower", "lower")]:
        assert read(white, black).startswith("neither attack")
    assert precision.change_reading("higher", 10) == "clearly higher at n = 10"
    assert "no change" in precision.change_reading("not distinguishable", 10)
    with pytest.raises(ValueError, match="verdict"):
        precision.change_reading("better", 10)


def test_leak_consequence_follows_the_leaks() -> None:
    assert precision.leak_consequence([10], [10, 30]).startswith(
        "The black-box attack leaks for n = 10 and 30"
    )
    only_white = precision.leak_consequence([10], [])
    assert "leaks for no n" in only_white and "for n = 10" in only_white
    assert precision.leak_consequence([], []).startswith("No attack leaks")


def test_agreement_gap_on_constructed_flags() -> None:
    n = 2000
    a = np.zeros(n, bool)
    a[:40] = True
    shifted = np.roll(a, 30)  # shares 10 of the 70 flagged by either
    copy = a.copy()
    assert precision.agreement(a, shifted) == (10, 70)
    gap = precision.agreement_gap((a, shifted), (a, copy))
    assert gap["pair_share"] == pytest.approx(10 / 70)
    assert gap["control_share"] == 1.0
    assert gap["mean"] == pytest.approx(10 / 70 - 1)
    assert gap["verdict"] == "lower" and gap["high"] < 0
    same = precision.agreement_gap((a, shifted), (a, shifted))
    assert same["mean"] == 0 and same["verdict"] == "not distinguishable"
    nothing = np.zeros(n, bool)
    assert precision.agreement_gap((nothing, nothing), (a, a))["mean"] == 0
    with pytest.raises(ValueError, match="different shapes"):
        precision.agreement(a, a[:10])


def test_agreement_and_resemblance_readings() -> None:
    lower = {"verdict": "lower"}
    even = {"verdict": "not distinguishable"}
    assert precision.agreement_reading({1.5: lower, 3.0: lower}).endswith(
        "and not only the luck of training, changed which real digits are flagged."
    )
    neither = precision.agreement_reading({1.5: even, 3.0: {"verdict": "higher"}})
    assert "do not agree clearly less" in neither and "s = 1.5 and 3.0" in neither
    mixed = precision.agreement_reading({1.5: lower, 3.0: even})
    assert "at s = 1.5, but not clearly less than those retrained at s = 3.0;" in mixed
    assert mixed.startswith("The detectors") and mixed.endswith(".")
    none = {"slanted": {1.5: (0.0, -0.1, 0.1)}, "heavy": {1.5: (-0.2, -0.3, -0.1)}}
    assert precision.resemblance_reading(none).startswith("At no noise scale")
    some = {"slanted": {1.5: (0.0, -0.1, 0.1), 3.0: (0.2, 0.1, 0.3)}}
    assert precision.resemblance_reading(some).startswith(
        "The detectors flag the slanted at s = 3.0 clearly more often"
    )
