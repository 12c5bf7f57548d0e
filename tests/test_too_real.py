"""The data-copying test, the chapter's experiments and figures, on known cases."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from synthbook.chapters import too_real
from synthbook.data import MnistData, load_mnist


@pytest.fixture(scope="module")
def pools() -> dict[str, MnistData]:
    """Three disjoint sets of real digits: train, holdout, and an independent pool."""
    data = load_mnist("embedded", verbose=False)
    order = np.random.default_rng(0).permutation(len(data))
    return {
        "train": data.subset(np.sort(order[:400])),
        "holdout": data.subset(np.sort(order[400:800])),
        "independent": data.subset(np.sort(order[800:1600])),
    }


def test_copying_gives_a_strongly_negative_c_t(pools: dict[str, MnistData]) -> None:
    train, holdout = pools["train"].images, pools["holdout"].images
    test = too_real.data_copying_test(train, train, holdout, n_cells=3)
    assert test.c_t < -5


def test_an_independent_sample_gives_c_t_near_zero(pools: dict[str, MnistData]) -> None:
    train, holdout = pools["train"].images, pools["holdout"].images
    fresh = pools["independent"].images
    test = too_real.data_copying_test(fresh, train, holdout, n_cells=3)
    assert abs(test.c_t) < 3.5
    assert test.weights.sum() == pytest.approx(1.0) and test.cells_used <= 3


def test_samples_far_from_the_data_give_a_positive_c_t(
    pools: dict[str, MnistData],
) -> None:
    train, holdout = pools["train"].images, pools["holdout"].images
    noisy = (pools["independent"].images + 0.4 * torch.rand(800, 28, 28)).clamp(0, 1)
    assert too_real.data_copying_test(noisy, train, holdout, n_cells=3).c_t > 3


def test_mann_whitney_z_counts_pairs_by_hand() -> None:
    # U counts the pairs in which the first sample is larger (ties one half).
    a, b = np.array([1.0, 3.0, 3.0, 7.0]), np.array([2.0, 3.0, 5.0])
    pairs = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    m, n = len(a), len(b)
    expected = (pairs - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
    assert too_real._mann_whitney_z(a, b) == pytest.approx(expected)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        too_real.data_copying_test(
            torch.zeros(0, 4), torch.ones(5, 4), torch.ones(5, 4)
        )
    with pytest.raises(ValueError, match="no cell holds"):
        too_real.data_copying_test(torch.rand(5, 4), torch.rand(9, 4), torch.rand(5, 4))
    with pytest.raises(ValueError, match="n_cells"):
        too_real.data_copying_test(
            torch.rand(5, 4), torch.rand(9, 4), torch.rand(5, 4), n_cells=0
        )
    with pytest.raises(ValueError, match="n must be at least 1"):
        too_real.show_nearest_pairs(torch.rand(3, 28, 28), torch.rand(3, 28, 28), n=0)


def test_nearest_pairs_put_each_sample_over_its_neighbour(
    pools: dict[str, MnistData],
) -> None:
    train = pools["train"].images
    fig = too_real.show_nearest_pairs(train[[7, 3]] + 0.01, train, n=2)
    top, bottom = fig.axes[0].images[0].get_array(), fig.axes[2].images[0].get_array()
    assert np.allclose(np.asarray(top) - 0.01, np.asarray(bottom), atol=1e-6)
    tags = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "REAL AND SYNTHETIC DIGITS" in tags
    fig2 = too_real.plot_distance_distributions(
        {"a": np.array([1.0, 2.0]), "b": np.array([3.0])}
    )
    for f in (fig, fig2):
        plt.close(f)


def test_cli_has_belonging_command() -> None:
    from synthbook.tools.cli import _cmd_belonging, build_parser

    args = build_parser().parse_args(["belonging", "--seed", "3"])
    assert args.handler is _cmd_belonging and args.seed == 3


def test_readings_follow_the_intervals() -> None:
    assert "a leak" in too_real.leak_reading(too_real.AttackAUC(0.55, 0.51, 0.6, 9, 9))
    assert "includes 0.5" in too_real.leak_reading(
        too_real.AttackAUC(0.9, 0.5, 1, 9, 9)
    )
    assert "below" in too_real.leak_reading(too_real.AttackAUC(0.3, 0.2, 0.4, 9, 9))
    lean = too_real.share_reading(too_real.Share(0.6, 0.51, 0.7, 100))
    assert lean == "leans towards the training set"
    assert "half" in too_real.share_reading(too_real.Share(0.6, 0.5, 0.7, 100))
    copying = too_real.CopyingTest(-3.5, np.zeros(1), np.ones(1), 1)
    assert copying.verdict == "closer"
    assert too_real.copying_reading(copying).startswith("lies below that interval")


def test_the_copying_verdict_follows_the_null_range(
    pools: dict[str, MnistData],
) -> None:
    train, holdout = pools["train"].images, pools["holdout"].images
    fresh = pools["independent"].images
    copied = too_real.data_copying_test(train, train, holdout, n_cells=3)
    independent = too_real.data_copying_test(fresh, train, holdout, n_cells=3)
    assert copied.verdict == "closer" and "sign of copying" in too_real.copying_reading(
        copied
    )
    assert independent.verdict == "not distinguishable"
    assert "within that interval" in too_real.copying_reading(independent)
    far = too_real.CopyingTest(2.5, np.zeros(2), np.array([0.5, 0.5]), 2)
    assert far.null_bound == pytest.approx(1.96 * np.sqrt(0.5), abs=1e-3)
    assert far.verdict == "farther" and "farther" in too_real.copying_summary(far)
    summary = too_real.copying_summary(copied)
    assert f"{copied.c_t:.1f}" in summary and f"{copied.null_bound:.2f}" in summary


def test_the_null_range_holds_95_percent_of_c_t_without_copying() -> None:
    # Without copying, generated and held-out distances come from one distribution
    # in every cell; C_T should leave the range in about 5% of runs.
    rng = np.random.default_rng(0)
    sizes = [(40, 60), (80, 50), (30, 90)]
    outside = 0
    runs = 2000
    for _ in range(runs):
        z = np.array(
            [too_real._mann_whitney_z(rng.random(g), rng.random(t)) for g, t in sizes]
        )
        w = np.array([t for _, t in sizes], dtype=float)
        test = too_real.CopyingTest(float((w / w.sum() * z).sum()), z, w / w.sum(), 3)
        outside += test.verdict != "not distinguishable"
    assert 0.03 < outside / runs < 0.07
