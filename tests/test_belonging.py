"""Copying statistics and membership attacks on constructed cases with known answers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from synthbook.chapters import too_real as bl
from synthbook.data import MnistData, load_mnist
from synthbook.gan import GANConfig, build_models


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


def test_nearest_records_finds_exact_copies(pools: dict[str, MnistData]) -> None:
    train = pools["train"].images
    pick = torch.tensor([5, 17, 300])
    distances, indices = bl.nearest_records(train[pick], train)
    assert indices.tolist() == pick.tolist()
    assert np.allclose(distances, 0.0, atol=1e-4)
    first_50 = lambda x: x.flatten(1)[:, :50]  # noqa: E731
    feats = bl.distance_to_closest_record(train[pick], train, features=first_50)
    assert np.allclose(feats, 0.0, atol=1e-4)


def test_copying_generator_is_caught(pools: dict[str, MnistData]) -> None:
    train, holdout = pools["train"], pools["holdout"]
    copies = train.images  # a "generator" that hands back its training images
    share = bl.closer_to_train_share(copies, train.images, holdout.images, n_boot=200)
    assert share.value == 1.0 and share.low == 1.0
    auc = bl.attack_auc(
        bl.distance_attack_scores(train.images, copies),
        bl.distance_attack_scores(holdout.images, copies),
        n_boot=200,
    )
    assert auc.auc > 0.99 and auc.low > 0.95
    test = bl.data_copying_test(copies, train.images, holdout.images, n_cells=3)
    assert test.c_t < -5


def test_independent_generator_looks_like_guessing(pools: dict[str, MnistData]) -> None:
    train, holdout, fresh = pools["train"], pools["holdout"], pools["independent"]
    # A "generator" that samples other real digits from the same distribution.
    share = bl.closer_to_train_share(
        fresh.images, train.images, holdout.images, n_boot=300
    )
    assert abs(share.value - 0.5) < 0.1  # n=800: standard error about 0.02
    assert share.low < 0.5 < share.high or abs(share.value - 0.5) < 0.05
    auc = bl.attack_auc(
        bl.distance_attack_scores(train.images, fresh.images),
        bl.distance_attack_scores(holdout.images, fresh.images),
        n_boot=300,
    )
    assert abs(auc.auc - 0.5) < 0.1  # 400 vs 400: standard error about 0.02
    assert auc.low < auc.auc < auc.high
    test = bl.data_copying_test(fresh.images, train.images, holdout.images, n_cells=3)
    assert abs(test.c_t) < 3.5


def test_attack_auc_is_seeded_and_orders_scores() -> None:
    a = bl.attack_auc([3.0, 4.0, 5.0], [0.0, 1.0, 2.0], n_boot=50, seed=1)
    assert a.auc == 1.0 and a.low == 1.0
    assert bl.attack_auc([0.0, 1.0], [2.0, 3.0], n_boot=50).auc == 0.0
    rng = np.random.default_rng(0)
    m, n = rng.normal(size=30), rng.normal(size=40)
    assert bl.attack_auc(m, n, seed=3) == bl.attack_auc(m, n, seed=3)


def test_discriminator_scores_shape_and_range_conversion(
    pools: dict[str, MnistData],
) -> None:
    torch.manual_seed(0)
    _, disc = build_models(GANConfig())
    data = pools["train"].subset(np.arange(10))
    scores = bl.discriminator_scores(disc, data.images, data.labels)
    assert scores.shape == (10,) and np.isfinite(scores).all()
    expected = (
        disc(data.images.view(-1, 1, 28, 28) * 2 - 1, data.labels)[0].detach().numpy()
    )
    assert np.allclose(scores, expected, atol=1e-5)
    with pytest.raises(ValueError, match="one label per image"):
        bl.discriminator_scores(disc, data.images, data.labels[:3])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: bl.nearest_records(torch.zeros(0, 28, 28), torch.zeros(3, 28, 28)),
            "empty",
        ),
        (
            lambda: bl.nearest_records(torch.zeros(2, 28, 28), torch.zeros(0, 28, 28)),
            "empty",
        ),
        (
            lambda: bl.nearest_records(torch.zeros(2, 28, 28), torch.zeros(3, 14, 14)),
            "same image",
        ),
        (lambda: bl.nearest_records(torch.zeros(5), torch.zeros(3, 5)), "shape"),
        (
            lambda: bl.closer_to_train_share(
                torch.zeros(2, 4), torch.zeros(0, 4), torch.zeros(3, 4)
            ),
            "empty",
        ),
        (
            lambda: bl.closer_to_train_share(
                torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(3, 5)
            ),
            "same image",
        ),
        (lambda: bl.attack_auc([], [1.0]), "at least one"),
        (lambda: bl.attack_auc([1.0], [np.nan]), "finite"),
        (lambda: bl.attack_auc([1.0], [0.0], n_boot=0), "n_boot"),
        (lambda: bl.attack_auc([1.0], [0.0], level=1.5), "level"),
        (
            lambda: bl.data_copying_test(
                torch.zeros(0, 4), torch.ones(5, 4), torch.ones(5, 4)
            ),
            "empty",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_figures_draw(pools: dict[str, MnistData]) -> None:
    train = pools["train"].images
    fig = bl.show_nearest_pairs(train[:20] + 0.01, train, n=5)
    assert len(fig.axes) == 10
    fig2 = bl.plot_distance_distributions(
        {"a": np.array([1.0, 2.0]), "b": np.array([3.0])}
    )
    rows = [
        {
            "train_size": s,
            "attack": a,
            "steps": t,
            "result": bl.AttackAUC(0.6, 0.5, 0.7, 10, 10),
        }
        for s in (100, 3000)
        for a in ("white-box", "black-box")
        for t in (1000, 3000)
    ]
    fig3 = bl.plot_attack_aucs(rows)
    for f in (fig, fig2, fig3):
        plt.close(f)


def test_bootstrap_matches_sklearn_on_resamples() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    m, n = (
        np.round(rng.normal(1, 1, 25), 1),
        np.round(rng.normal(0, 1, 35), 1),
    )  # with ties
    one = bl.attack_auc(m, n, n_boot=1, seed=0)
    truth = np.r_[np.ones(25), np.zeros(35)]
    assert one.auc == pytest.approx(roc_auc_score(truth, np.r_[m, n]))
    wide = bl.attack_auc(m, n, n_boot=2000, seed=0)
    assert wide.low < wide.auc < wide.high
    assert 0.05 < wide.high - wide.low < 0.4
    slow = []  # the same percentile bootstrap, one sklearn call per resample
    for _ in range(400):
        p, q = rng.choice(m, len(m)), rng.choice(n, len(n))
        slow.append(roc_auc_score(truth, np.r_[p, q]))
    assert np.quantile(slow, 0.025) == pytest.approx(wide.low, abs=0.04)
    assert np.quantile(slow, 0.975) == pytest.approx(wide.high, abs=0.04)


def test_cli_has_belonging_command() -> None:
    from synthbook.tools.cli import _cmd_belonging, build_parser

    args = build_parser().parse_args(["belonging", "--seed", "3"])
    assert args.handler is _cmd_belonging and args.seed == 3
