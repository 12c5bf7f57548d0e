"""Distances and membership attacks on constructed cases whose answer is known."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from synthbook import membership as mb
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
    distances, indices = mb.nearest_records(train[pick], train)
    assert indices.tolist() == pick.tolist()
    assert np.allclose(distances, 0.0, atol=1e-4)
    first_50 = lambda x: x.flatten(1)[:, :50]  # noqa: E731
    feats = mb.distance_to_closest_record(train[pick], train, features=first_50)
    assert np.allclose(feats, 0.0, atol=1e-4)


def test_nearest_records_agrees_with_a_brute_force_search() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.random((7, 3, 4)), rng.random((11, 3, 4))
    distances, indices = mb.nearest_records(a, b, batch=2)
    brute = np.sqrt(((a[:, None] - b[None]) ** 2).sum(axis=(2, 3)))
    assert indices.tolist() == brute.argmin(axis=1).tolist()
    assert np.allclose(distances, brute.min(axis=1))


def test_a_copying_generator_is_caught(pools: dict[str, MnistData]) -> None:
    train, holdout = pools["train"], pools["holdout"]
    copies = train.images  # a "generator" that hands back its training images
    share = mb.closer_to_train_share(copies, train.images, holdout.images, n_boot=200)
    assert share.value == 1.0 and share.low == 1.0
    auc = mb.attack_auc(
        mb.distance_attack_scores(train.images, copies),
        mb.distance_attack_scores(holdout.images, copies),
        n_boot=200,
    )
    assert auc.auc > 0.99 and auc.low > 0.95 and auc.leaks


def test_an_independent_sample_looks_like_guessing(pools: dict[str, MnistData]) -> None:
    train, holdout, fresh = pools["train"], pools["holdout"], pools["independent"]
    # A "generator" that draws other real digits from the same distribution.
    share = mb.closer_to_train_share(
        fresh.images, train.images, holdout.images, n_boot=300
    )
    assert abs(share.value - 0.5) < 0.1  # n=800: standard error about 0.02
    auc = mb.attack_auc(
        mb.distance_attack_scores(train.images, fresh.images),
        mb.distance_attack_scores(holdout.images, fresh.images),
        n_boot=300,
    )
    assert abs(auc.auc - 0.5) < 0.1  # 400 vs 400: standard error about 0.02
    assert auc.low < auc.auc < auc.high


def test_share_interval_covers_its_binomial_interval() -> None:
    # 300 of 1,000 samples lie exactly on a training image, the rest on a held-out
    # one: the share is 0.3 and its bootstrap interval is close to the normal one.
    train, holdout = np.zeros((1, 2)), np.ones((1, 2))
    samples = np.r_[np.zeros((300, 2)), np.ones((700, 2))]
    share = mb.closer_to_train_share(samples, train, holdout, n_boot=4000)
    half = 1.96 * np.sqrt(0.3 * 0.7 / 1000)
    assert share.value == pytest.approx(0.3)
    assert share.low == pytest.approx(0.3 - half, abs=0.006)
    assert share.high == pytest.approx(0.3 + half, abs=0.006)


def test_attack_auc_is_seeded_and_orders_scores() -> None:
    a = mb.attack_auc([3.0, 4.0, 5.0], [0.0, 1.0, 2.0], n_boot=50, seed=1)
    assert a.auc == 1.0 and a.low == 1.0 and a.leaks
    assert mb.attack_auc([0.0, 1.0], [2.0, 3.0], n_boot=50).auc == 0.0
    rng = np.random.default_rng(0)
    m, n = rng.normal(size=30), rng.normal(size=40)
    assert mb.attack_auc(m, n, seed=3) == mb.attack_auc(m, n, seed=3)


def test_the_leak_rule_reads_the_interval_not_the_estimate() -> None:
    assert mb.AttackAUC(0.56, 0.52, 0.6, 10, 10).leaks  # weak, but a leak
    assert not mb.AttackAUC(0.7, 0.49, 0.9, 10, 10).leaks  # large, but uncertain


def test_bootstrap_matches_sklearn_on_resamples() -> None:
    rng = np.random.default_rng(1)
    m = np.round(rng.normal(1, 1, 25), 1)  # rounded: with ties
    n = np.round(rng.normal(0, 1, 35), 1)
    one = mb.attack_auc(m, n, n_boot=1, seed=0)
    truth = np.r_[np.ones(25), np.zeros(35)]
    assert one.auc == pytest.approx(roc_auc_score(truth, np.r_[m, n]))
    wide = mb.attack_auc(m, n, n_boot=2000, seed=0)
    assert wide.low < wide.auc < wide.high
    slow = []  # the same percentile bootstrap, one sklearn call per resample
    for _ in range(400):
        p, q = rng.choice(m, len(m)), rng.choice(n, len(n))
        slow.append(roc_auc_score(truth, np.r_[p, q]))
    assert np.quantile(slow, 0.025) == pytest.approx(wide.low, abs=0.04)
    assert np.quantile(slow, 0.975) == pytest.approx(wide.high, abs=0.04)


def test_a_discriminator_that_remembers_its_members_gives_auc_one(
    pools: dict[str, MnistData],
) -> None:
    class Remembers(torch.nn.Module):
        """Scores 1 for the members' images, 0 otherwise (and a dummy class head)."""

        def __init__(self, members: torch.Tensor) -> None:
            super().__init__()
            self.members = mb.discriminator_input(members).flatten(1)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple:
            gap = torch.cdist(x.flatten(1), self.members, compute_mode=EXACT)
            hit = gap.min(dim=1).values < 1e-3
            return hit.float(), torch.zeros(len(x), 10)

    members, outsiders = pools["train"].subset(np.arange(40)), pools["holdout"]
    scores_in = mb.discriminator_scores(Remembers(members.images), *_xy(members))
    scores_out = mb.discriminator_scores(Remembers(members.images), *_xy(outsiders))
    assert (scores_in == 1).all() and (scores_out == 0).all()
    assert mb.attack_auc(scores_in, scores_out, n_boot=100).auc == 1.0


EXACT = "donot_use_mm_for_euclid_dist"


def _xy(data: MnistData) -> tuple[torch.Tensor, torch.Tensor]:
    return data.images, data.labels


def test_discriminator_scores_keep_the_model_mode(pools: dict[str, MnistData]) -> None:
    torch.manual_seed(0)
    _, disc = build_models(GANConfig())
    disc.train()
    data = pools["train"].subset(np.arange(10))
    scores = mb.discriminator_scores(disc, data.images, data.labels, batch=3)
    assert scores.shape == (10,) and np.isfinite(scores).all() and disc.training
    with pytest.raises(ValueError, match="one label per image"):
        mb.discriminator_scores(disc, data.images, data.labels[:3])


_share = mb.closer_to_train_share


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mb.nearest_records(torch.zeros(0, 28, 28), torch.zeros(3, 28, 28)), "empty"),
        (lambda: mb.nearest_records(torch.zeros(2, 28, 28), torch.zeros(0, 28, 28)), "empty"),
        (lambda: mb.nearest_records(torch.zeros(2, 28, 28), torch.zeros(3, 14, 14)), "same image"),
        (lambda: mb.nearest_records(torch.zeros(5), torch.zeros(3, 5)), "shape"),
        (lambda: mb.nearest_records(torch.full((2, 4), np.nan), torch.zeros(3, 4)), "NaN"),
        (lambda: mb.nearest_records(torch.zeros(2, 4), torch.zeros(3, 4), batch=0), "batch"),
        (lambda: _share(torch.zeros(2, 4), torch.zeros(0, 4), torch.zeros(3, 4)), "empty"),
        (lambda: _share(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(3, 5)), "same image"),
        (lambda: mb.attack_auc([], [1.0]), "at least one"),
        (lambda: mb.attack_auc([1.0], [np.nan]), "finite"),
        (lambda: mb.attack_auc([1.0], [0.0], n_boot=0), "n_boot"),
        (lambda: mb.attack_auc([1.0], [0.0], level=1.5), "level"),
    ],
)  # fmt: skip
def test_bad_inputs_raise_clear_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_attack_figure_draws_one_series_per_attack_and_step() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        {"train_size": s, "attack": a, "steps": t, "result": mb.AttackAUC(0.6, 0.5, 0.7, 10, 10)}
        for s in (100, 3000)
        for a in ("white-box", "black-box")
        for t in (1000, 3000)
    ]  # fmt: skip
    fig = mb.plot_attack_aucs(rows)
    assert len(fig.axes[0].get_legend().get_texts()) == 4
    plt.close(fig)
    with pytest.raises(ValueError, match="no rows"):
        mb.plot_attack_aucs([])
