"""Tests for the generated-diversity experiment of ``book/no_real_risk.md``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthbook import gan
from synthbook.chapters import no_real_risk as nrr
from synthbook.data import MnistData, Splits, book_splits, load_mnist


@pytest.fixture(scope="module")
def splits() -> Splits:
    return book_splits(load_mnist("embedded", verbose=False), seed=0)


def _bar(shift_per_row: float) -> torch.Tensor:
    """A one-pixel-wide stroke drawn directly, leaning ``shift_per_row`` to the right."""
    image = torch.zeros(28, 28)
    for row in range(4, 24):
        col = 14 + shift_per_row * (13.5 - row)  # top of the image to the right
        left = int(np.floor(col))
        frac = col - left
        image[row, left] += 1 - frac
        image[row, left + 1] += frac
    return image


def test_slant_of_a_drawn_stroke_is_its_shift_per_row() -> None:
    strokes = torch.stack([_bar(k) for k in (-0.3, 0.0, 0.2, 0.4)])
    np.testing.assert_allclose(
        nrr.slant_scores(strokes), [-0.3, 0.0, 0.2, 0.4], atol=0.02
    )


def test_shear_adds_its_amount_to_the_slant(splits: Splits) -> None:
    images = splits.train.images[:200]
    before = nrr.slant_scores(images)
    amounts = np.linspace(-0.3, 0.5, len(images))
    after = nrr.slant_scores(nrr.shear(images, amounts))
    # Interpolation and the 28-pixel frame blur it a little, never by much.
    assert np.median(np.abs(after - before - amounts)) < 0.05
    assert np.corrcoef(after - before, amounts)[0, 1] > 0.98
    unchanged = nrr.shear(images[:5], np.zeros(5))
    assert torch.allclose(unchanged, images[:5], atol=1e-5)


@pytest.mark.parametrize(
    ("amounts", "message"),
    [(np.array([0.1, np.nan]), "finite"), (np.array([0.1]), "one each")],
)
def test_shear_refuses_bad_amounts(
    splits: Splits, amounts: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        nrr.shear(splits.train.images[:2], amounts)


def test_group_is_the_top_share_of_every_digit(splits: Splits) -> None:
    thresholds = nrr.group_thresholds(splits.train, 0.8)
    group = nrr.in_group(splits.train.images, splits.train.labels, thresholds)
    labels = splits.train.labels.numpy()
    shares = [group[labels == d].mean() for d in range(10)]
    np.testing.assert_allclose(shares, 0.2, atol=0.01)
    slant = nrr.slant_scores(splits.train.images)
    for d in range(10):  # every member leans further right than every non-member
        members, others = slant[group & (labels == d)], slant[~group & (labels == d)]
        assert members.min() > others.max()


def test_group_thresholds_need_every_digit_and_a_proper_quantile(
    splits: Splits,
) -> None:
    no_fives = splits.train.subset(np.flatnonzero(splits.train.labels.numpy() != 5))
    with pytest.raises(ValueError, match=r"digit\(s\) \[5\]"):
        nrr.group_thresholds(no_fives, 0.8)
    with pytest.raises(ValueError, match="quantile"):
        nrr.group_thresholds(splits.train, 1.0)


def _setting(
    splits: Splits, keep_share: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, nrr.Skew]:
    thresholds = nrr.group_thresholds(splits.train, 0.8)
    group = nrr.in_group(splits.train.images, splits.train.labels, thresholds)
    return thresholds, group, nrr.withhold(splits.train, group, keep_share, seed)


def test_withhold_keeps_a_share_of_each_digits_group(splits: Splits) -> None:
    _, group, skew = _setting(splits)
    labels = splits.train.labels.numpy()
    for d in range(10):
        members = np.flatnonzero(group & (labels == d))
        kept = skew.kept[labels[skew.kept] == d]
        assert len(kept) == round(0.1 * len(members))
    assert sorted(np.concatenate([skew.kept, skew.withheld])) == sorted(
        np.flatnonzero(group)
    )
    assert len(skew.data) == len(splits.train) - len(skew.withheld)
    again = nrr.withhold(splits.train, group, 0.1, seed=0)
    other = nrr.withhold(splits.train, group, 0.1, seed=1)
    assert again.data.fingerprint() == skew.data.fingerprint()
    assert other.data.fingerprint() != skew.data.fingerprint()


class _Echo(torch.nn.Module):
    """A stand-in generator: draws the digit's real image, sheared by its noise."""

    latent_dim = 4

    def __init__(self, train: MnistData) -> None:
        super().__init__()
        labels = train.labels.numpy()
        first = [int(np.flatnonzero(labels == d)[0]) for d in range(10)]
        self.register_buffer("base", train.images[first])

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        digits = labels.argmax(dim=1) if labels.is_floating_point() else labels
        images = nrr.shear(self.base[digits], 0.2 * z[:, 0].numpy())
        return images.unsqueeze(1) * 2 - 1  # the generator's [-1, 1] range


@pytest.mark.parametrize("strategy", ["oversample", "shear", "generator", "real"])
def test_every_strategy_adds_what_was_withheld_per_digit(
    splits: Splits, strategy: str
) -> None:
    thresholds, group, skew = _setting(splits)
    images, labels = nrr.added_images(
        strategy,
        splits.train,
        skew,
        group,
        thresholds,
        seed=0,
        generator=_Echo(splits.train),
        pool_per_class=200,
    )
    wanted = np.bincount(splits.train.labels.numpy()[skew.withheld], minlength=10)
    assert np.bincount(labels.numpy(), minlength=10).tolist() == wanted.tolist()
    assert images.shape == (len(labels), 28, 28)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_strategies_add_the_right_kind_of_image(splits: Splits) -> None:
    thresholds, group, skew = _setting(splits)
    train = splits.train

    def added(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return nrr.added_images(
            name,
            train,
            skew,
            group,
            thresholds,
            seed=0,
            generator=_Echo(train),
            pool_per_class=200,
        )

    real, _ = added("real")
    assert torch.equal(real, train.images[skew.withheld])
    repeated, _ = added("oversample")
    kept = {train.images[i].numpy().tobytes() for i in skew.kept}
    assert all(image.numpy().tobytes() in kept for image in repeated)
    sheared, labels = added("shear")  # aimed at kept members' slants: in the group
    assert nrr.in_group(sheared, labels, thresholds).mean() > 0.9
    generated, labels = added("generator")  # the most slanted of the pool
    pool_labels = gan.class_labels(200)
    pool = gan.generate(_Echo(train), pool_labels, seed=0)
    pool_slant = nrr.slant_scores(pool)
    for d in range(10):
        chosen = nrr.slant_scores(generated[labels == d])
        rest = np.sort(pool_slant[pool_labels.numpy() == d])[: -len(chosen)]
        assert chosen.min() >= rest.max() - 1e-9
    none, _ = added("none")
    assert len(none) == 0


def test_added_images_refuses_what_it_cannot_do(splits: Splits) -> None:
    thresholds, group, skew = _setting(splits)
    with pytest.raises(ValueError, match="unknown strategy"):
        nrr.added_images("gan", splits.train, skew, group, thresholds, seed=0)
    with pytest.raises(ValueError, match="needs generator"):
        nrr.added_images("generator", splits.train, skew, group, thresholds, seed=0)
    _, _, empty = _setting(splits, keep_share=0.0)
    with pytest.raises(ValueError, match="raise keep_share"):
        nrr.added_images("oversample", splits.train, empty, group, thresholds, seed=0)
    with pytest.raises(ValueError, match="raise pool_per_class"):
        nrr.added_images(
            "generator",
            splits.train,
            skew,
            group,
            thresholds,
            seed=0,
            generator=_Echo(splits.train),
            pool_per_class=10,
        )


def test_score_counts_each_group_separately() -> None:
    class Fixed:
        def predict(self, images: torch.Tensor) -> np.ndarray:
            return np.array([0, 1, 2, 0])

    test = MnistData(torch.zeros(4, 28, 28), torch.tensor([0, 1, 1, 3]), "embedded")
    result = nrr.score(Fixed(), test, np.array([True, True, False, False]))
    assert result == {"group": 1.0, "rest": 0.0, "gap": -1.0, "overall": 0.5}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"keep_share": 1.5}, "keep_share"),
        ({"quantile": 1.0}, "quantile"),
        ({"seeds": ()}, "at least one seed"),
        ({"epochs": 0}, "epochs"),
        ({"strategies": ("shear", "real")}, "must include 'none'"),
        ({"strategies": ("none", "gan")}, "must include 'none'"),
    ],
)
def test_experiment_settings_are_checked(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nrr.DiversityExperiment(**settings)


def test_run_is_cached_deterministic_and_paired(splits: Splits) -> None:
    experiment = nrr.DiversityExperiment(
        seeds=(0, 1), epochs=1, strategies=("none", "oversample", "real")
    )
    rows = nrr.run_experiment(experiment, splits.train, splits.test)
    assert len(rows) == 6
    assert {r["strategy"] for r in rows} == {"none", "oversample", "real"}
    for row in rows:
        assert 0.0 <= row["group"] <= 1.0 and 0.0 <= row["rest"] <= 1.0
        assert row["gap"] == pytest.approx(row["rest"] - row["group"])
    fresh = nrr.run_one_seed(experiment, splits.train, splits.test, seed=1)
    assert fresh == [r for r in rows if r["seed"] == 1]  # the cache returns the same
    difference = nrr.paired(rows, "real")
    per_seed = [
        next(r["group"] for r in rows if (r["strategy"], r["seed"]) == ("real", s))
        - next(r["group"] for r in rows if (r["strategy"], r["seed"]) == ("none", s))
        for s in (0, 1)
    ]
    assert difference["mean"] == pytest.approx(np.mean(per_seed))
    with pytest.raises(ValueError, match="no rows for strategy 'shear'"):
        nrr.paired(rows, "shear")
    with pytest.raises(ValueError, match="needs generator"):
        nrr.run_experiment(nrr.DiversityExperiment(), splits.train, splits.test)


def test_results_table_lists_every_strategy_run(splits: Splits) -> None:
    rows = [
        {
            "strategy": s,
            "amount": a,
            "seed": seed,
            "group": g,
            "rest": 0.9,
            "overall": 0.88,
            "gap": 0.9 - g,
        }
        for seed in (0, 1)
        for s, a, g in (("none", 0, 0.7 + 0.01 * seed), ("real", 540, 0.85))
    ]
    html = nrr.results_table(rows)
    assert html.count("<tr>") == 3
    assert "0.705 [" in html and "0.850 [0.850, 0.850]" in html
    assert "540" in html
