import json
import re

import numpy as np
import pytest
import torch

from synthbook import widgets
from synthbook.cache import cache_dir
from synthbook.chapters import variability
from synthbook.chapters.variability import (
    make_long_tail,
    make_style_tail,
    perturb,
    style_scores,
)
from synthbook.data import MnistData, book_splits, load_mnist


@pytest.fixture(scope="module")
def data() -> MnistData:
    return load_mnist("embedded", verbose=False)


def test_long_tail_keeps_k_of_rare_digit_only(data: MnistData) -> None:
    tail = make_long_tail(data, 8, keep=12, seed=0)
    counts = tail.class_counts()
    assert counts[8] == 12
    assert all(counts[d] == 500 for d in range(10) if d != 8)
    again = make_long_tail(data, 8, keep=12, seed=0)
    assert tail.fingerprint() == again.fingerprint()
    other = make_long_tail(data, 8, keep=12, seed=1)
    assert tail.fingerprint() != other.fingerprint()


def test_long_tail_fraction_and_several_digits(data: MnistData) -> None:
    tail = make_long_tail(data, [3, 5], keep=0.1, seed=0)
    assert tail.class_counts()[[3, 5]].tolist() == [50, 50]


@pytest.mark.parametrize(
    ("digits", "keep", "message"),
    [
        (8, 501, "it has 500"),
        (11, 5, "rare_digits must be a digit 0 to 9, got 11"),
        ([], 5, "at least one"),
        ([4, 4], 5, "once"),
        (8, 0, "choose 1 to 500"),
        (8, 1.5, r"\(0, 1\]"),
    ],
)
def test_long_tail_bad_inputs(data: MnistData, digits, keep, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_long_tail(data, digits, keep=keep)


def _bar(shear: float) -> torch.Tensor:
    image = torch.zeros(28, 28)
    for row in range(4, 24):
        col = int(round(14 + shear * (14 - row)))
        image[row, col - 1 : col + 2] = 1.0
    return image


def test_slant_sign_and_order() -> None:
    images = torch.stack([_bar(-0.4), _bar(0.0), _bar(0.4)])
    scores = style_scores(images, "slant")
    assert scores[0] < -0.2 and abs(scores[1]) < 0.05 and scores[2] > 0.2


def test_style_tail_keeps_few_odd_images(data: MnistData) -> None:
    tail, threshold = make_style_tail(data, "ink", quantile=0.9, keep=10, seed=0)
    ink = style_scores(tail.images, "ink")
    assert (ink > threshold).sum() == 10
    assert len(tail) == 4500 + 10
    with pytest.raises(ValueError, match="unknown style"):
        style_scores(data.images[:2], "curl")


def test_perturb_is_seeded_and_local(data: MnistData) -> None:
    source = data.images[data.labels == 8][:5]
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = perturb(source, 7, seed=3)
    after = torch.rand(1)
    b = perturb(source, 7, seed=3)
    assert a.shape == (7, 28, 28) and torch.equal(a, b)
    assert torch.equal(before, after), (
        "perturb must not consume the global random state"
    )
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    # Perturbed, not copied: no output equals its source exactly.
    distances = torch.cdist(a.flatten(1), source.flatten(1)).min(dim=1).values
    assert float(distances.min()) > 0.5
    with pytest.raises(ValueError, match=">= 0"):
        perturb(source, -1)
    assert np.asarray(perturb(source, 0)).shape == (0, 28, 28)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"strategies": ()}, "at least one strategy"),
        ({"strategies": ("smote",)}, "each strategy must be one of"),
        ({"strategies": ("none",)}, "always run"),
        ({"amounts": (48, -1)}, "amounts must be at least 1"),
        ({"amounts": ()}, "must not be empty"),
        ({"rare_digit": 11}, "0 to 9|digit"),
        ({"keep": 0}, "keep must be at least 1"),
        ({"classifier_arch": "resnet"}, "classifier_arch must be one of"),
        ({"seeds": ()}, "at least one seed"),
    ],
)
def test_experiment_rejects_bad_settings(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        variability.TailExperiment(**settings)


def test_synthesize_strategies(data: MnistData) -> None:
    tail = make_long_tail(data, 8, 12, seed=0)
    kept = {img.numpy().tobytes() for img in tail.images[tail.labels == 8]}
    copies = variability.synthesize("oversample", tail, 8, 30, seed=0)
    assert copies.shape == (30, 28, 28)
    assert {img.numpy().tobytes() for img in copies} <= kept
    assert variability.synthesize("none", tail, 8, 30).shape == (0, 28, 28)
    distorted = variability.synthesize("perturb", tail, 8, 30, seed=0)
    assert not {img.numpy().tobytes() for img in distorted} & kept
    with pytest.raises(ValueError, match="needs a trained generator"):
        variability.synthesize("gan", tail, 8, 5)
    with pytest.raises(ValueError, match="amount must be at least 0"):
        variability.synthesize("perturb", tail, 8, -3)
    with pytest.raises(ValueError, match="unknown strategy"):
        variability.synthesize("mixup", tail, 8, 3)


@pytest.mark.slow
def test_tail_experiment_runs_every_condition_and_reproduces() -> None:
    experiment = variability.TailExperiment(
        strategies=("oversample", "perturb+gan"),
        amounts=(24,),
        seeds=(0, 1),
        gan_steps=30,
        classifier_epochs=1,
    )
    first = variability.run_tail_experiment(
        experiment, data_source="embedded", progress=False
    )
    conditions = [("none", 0), ("real", 24), ("oversample", 24)]
    conditions += [("perturb+gan", 48), ("perturb", 48)]
    assert [(r["seed"], r["strategy"], r["amount"]) for r in first] == [
        (seed, *condition) for seed in (0, 1) for condition in conditions
    ]
    for row in first:
        for test_set in variability.TEST_SETS:
            for metric in ("accuracy", "rare_recall", "rare_precision"):
                value = row[variability.metric_name(metric, test_set)]
                assert 0.0 <= value <= 1.0
        assert len(row["examples"]) == min(row["amount"], variability.EXAMPLES)
    # Oversampled images are the kept ones (distance 0); real ones left out are not.
    by = {(r["seed"], r["strategy"]): r for r in first}
    assert by[0, "oversample"]["closeness"] == 0.0 and by[0, "real"]["closeness"] > 0
    # Recomputed from scratch (the results' cache emptied), the numbers are the same.
    for path in cache_dir("tails").iterdir():
        path.unlink()
    again = variability.run_tail_experiment(
        experiment, data_source="embedded", progress=False
    )
    for new, old in zip(again, first, strict=True):
        assert torch.equal(new.pop("examples"), old.pop("examples"))
    np.testing.assert_equal(again, first)  # NaN (no added images) counts as equal


def test_slant_shears_a_bar_by_the_stated_angle() -> None:
    # A vertical bar has no slant; sheared by 20 degrees its measured slant is
    # tan(20 degrees), leaning right; -20 degrees leans it left as much.
    bar = _bar(0.0).unsqueeze(0)
    assert abs(style_scores(bar, "slant")[0]) < 0.02
    right = style_scores(variability.slant(bar, 20.0), "slant")[0]
    left = style_scores(variability.slant(bar, -20.0), "slant")[0]
    assert right == pytest.approx(np.tan(np.radians(20.0)), abs=0.03)
    assert left == pytest.approx(-right, abs=0.03)
    assert torch.allclose(variability.slant(bar, 0.0), bar, atol=1e-5)
    with pytest.raises(ValueError, match="degrees"):
        variability.slant(bar, float("nan"))


def test_thicken_broadens_a_one_pixel_line() -> None:
    line = torch.zeros(1, 28, 28)
    line[0, 5:20, 14] = 1.0
    thick = variability.thicken(line, 1)
    # Three columns wide and one row longer at each end: 3 x 17 pixels of ink.
    assert torch.equal(
        thick[0].sum(dim=0).nonzero().flatten(), torch.tensor([13, 14, 15])
    )
    assert float(thick.sum()) == 3 * 17
    assert torch.equal(variability.thicken(line, 0), line)
    with pytest.raises(ValueError, match="pixels"):
        variability.thicken(line, -1)


def test_shifted_tests_keep_labels_and_order(data: MnistData) -> None:
    test = data.subset(np.arange(0, 5000, 50))
    sets = variability.shifted_tests(test)
    assert tuple(sets) == variability.TEST_SETS
    for shifted in sets.values():
        assert torch.equal(shifted.labels, test.labels)
    slanted, thick = sets["slanted"].images, sets["thickened"].images
    assert (
        style_scores(slanted, "slant") > style_scores(test.images, "slant")
    ).mean() > 0.9
    assert (style_scores(thick, "ink") > style_scores(test.images, "ink")).all()


def test_conditions_follow_the_data_and_pair_each_combination(data: MnistData) -> None:
    experiment = variability.TailExperiment()
    train = data.subset(np.arange(0, 5000, 2))  # 250 of each digit
    gap = 250 - experiment.keep
    amounts = (gap // 6, gap)
    assert experiment.resolve_amounts(train) == amounts
    found = experiment.conditions(train)
    assert found[0] == ("none", 0)
    assert [a for s, a in found if s == "real"] == list(amounts)
    assert [a for s, a in found if s == "perturb+gan"] == [2 * a for a in amounts]
    # The quantity control of "perturb+gan": as many images, all perturbed.
    assert [a for s, a in found if s == "perturb"] == [
        *amounts,
        *(2 * a for a in amounts),
    ]
    assert len(found) == len(set(found)) == 1 + 2 + 5 * 2 + 2 + 2


def test_combination_adds_the_second_strategy_on_top_of_the_first(
    data: MnistData,
) -> None:
    from synthbook import gan

    tail = make_long_tail(data, 8, 12, seed=0)
    generator, _ = gan.build_models(gan.GANConfig())
    both = variability.synthesize(
        "perturb+gan", tail, 8, 20, seed=3, generator=generator
    )
    classic = variability.synthesize("perturb", tail, 8, 10, seed=3)
    generated = variability.synthesize("gan", tail, 8, 10, seed=3, generator=generator)
    assert torch.equal(both, torch.cat([classic, generated]))


def test_long_tail_indices_name_the_kept_images(data: MnistData) -> None:
    kept = variability.long_tail_indices(data, 8, 12, seed=4)
    tail = make_long_tail(data, 8, 12, seed=4)
    assert torch.equal(data.images[kept], tail.images)
    assert (data.labels[kept] == 8).sum() == 12


def _rows(gain: dict[str, float], seeds: int = 5) -> list[dict]:
    """Constructed rows: each condition adds a fixed gain to a seed-dependent base."""
    rows = []
    for seed in range(seeds):
        for strategy, amount, delta in [("none", 0, 0.0)] + [
            (name, 10, value) for name, value in gain.items()
        ]:
            row = {"seed": seed, "strategy": strategy, "amount": amount}
            for test_set in variability.TEST_SETS:
                for metric in ("rare_recall", "rare_precision", "accuracy"):
                    base = 0.1 * seed + (0.05 if test_set == "slanted" else 0.0)
                    row[variability.metric_name(metric, test_set)] = base + delta
            rows.append(row)
    return rows


def test_gains_and_verdict_lists_follow_the_interval_rule() -> None:
    rows = _rows({"perturb": 0.2, "gan": -0.1, "oversample": 0.0})
    table = variability.gains(rows, [("perturb", 10), ("gan", 10), ("oversample", 10)])
    assert len(table) == 3 * len(variability.TEST_SETS)
    as_collected = table[table["test set"] == "as collected"].set_index("strategy")
    assert as_collected.loc["perturb", "mean"] == pytest.approx(0.2)
    assert list(as_collected["verdict"]) == ["higher", "lower", "not distinguishable"]
    lists = variability.verdict_lists(table)
    assert lists["slanted"] == {"higher": "perturb +10", "lower": "gan +10"}
    found = variability.compare(rows, ("perturb", 10), ("gan", 10), "thickened")
    assert found["text"] == "+0.30 [+0.30, +0.30]" and found["verdict"] == "higher"


def test_share_outside_counts_images_beyond_the_reference_range() -> None:
    reference = torch.stack([_bar(0.0), _bar(0.1)])
    inside = torch.stack([_bar(0.05)])
    leaning = torch.stack([_bar(0.6), _bar(0.05)])
    heavy = variability.thicken(reference[:1], 2)
    shares = variability.share_outside(
        {"inside": inside, "leaning": leaning, "heavy": heavy}, reference
    )
    assert shares == {"inside": 0.0, "leaning": 0.5, "heavy": 1.0}


def test_panel_has_a_described_frame_for_every_setting(data: MnistData) -> None:
    splits = book_splits(data, seed=0)
    experiment = variability.TailExperiment(
        strategies=("oversample", "perturb+gan"), amounts=(6, 12), seeds=(0, 1)
    )
    rows = []
    for seed in experiment.seeds:
        for strategy, amount in experiment.conditions(splits.train):
            row = {"seed": seed, "strategy": strategy, "amount": amount}
            row.update(
                {
                    variability.metric_name(m, t): 0.5
                    for m in ("rare_recall", "accuracy")
                    for t in variability.TEST_SETS
                }
            )
            row["examples"] = torch.zeros(min(amount, 12), 28, 28, dtype=torch.uint8)
            rows.append(row)
    controls, frames = variability.panel_frames(rows, splits, experiment)
    sizes = [len(options) for _, _, options in controls]
    assert sizes == [2, 4, 2] and len(frames) == 2 * 4 * 2
    assert "synthetic" in frames[1, "perturb+gan", 12]["alt"]
    assert "24 images" in frames[1, "perturb+gan", 12]["alt"]
    assert "real" in frames[0, "oversample", 6]["alt"]
    assert "nothing was added" in frames[0, "none", 6]["alt"]
    html = widgets.precomputed_panel(controls, frames, title="t").data
    data = json.loads(re.search(r"var data=(\{.*?\});", html).group(1))
    # Every setting reaches the page with its own alt text (identical pictures once).
    assert len(data["frames"]) == len(frames)
    alts = {frame["alt"] for frame in data["frames"].values()}
    assert alts == {frame["alt"] for frame in frames.values()}


def _closeness_rows(gan: list[float], real: list[float]) -> list[dict]:
    """Constructed rows: one closeness per seed for ``gan`` and ``real``, amount 90."""
    return [
        {"seed": seed, "strategy": name, "amount": 90, "closeness": value}
        for name, values in (("gan", gan), ("real", real))
        for seed, value in enumerate(values)
    ]


def test_closeness_reading_judges_against_real_digits_paired_by_seed() -> None:
    # Half as near as new real digits in every seed: nearer, leaning to copies.
    rows = _closeness_rows([0.5, 0.6, 0.7], [1.0, 1.1, 1.2])
    found = variability.closeness_reading(rows, "gan", 90)
    assert found["verdict"] == "lower"
    assert found["value"].startswith("0.60 [") and found["real"].startswith("1.10 [")
    # The paired difference is -0.5 in every seed: a zero-width interval.
    assert found["difference"] == "-0.50 [-0.50, -0.50]"
    assert found["reading"].endswith("leaning towards copies of the kept images")
    # The same numbers with the seeds' differences of both signs: no verdict,
    # although the closeness itself is below 1 (there is no fixed cut-off).
    rows = _closeness_rows([0.8, 1.0, 0.9], [0.9, 0.9, 0.9])
    found = variability.closeness_reading(rows, "gan", 90)
    assert found["verdict"] == "not distinguishable"
    assert found["reading"].endswith("no sign of copying by this measure")
    rows = _closeness_rows([1.5, 1.6, 1.7], [1.0, 1.0, 1.1])
    assert variability.closeness_reading(rows, "gan", 90)["verdict"] == "higher"
    with pytest.raises(ValueError, match="no rows for strategy 'gan-edge'"):
        variability.closeness_reading(rows, "gan-edge", 90)


def test_gap_needs_enough_images(data: MnistData) -> None:
    small = data.subset(np.arange(0, 5000, 50))  # 10 of each digit
    with pytest.raises(ValueError, match="only 10 images of digit 8"):
        variability.TailExperiment(keep=12).gap(small)
