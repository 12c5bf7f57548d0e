"""The separating-power experiment with its controls, and its static panel.

Constructed rows check the paired comparisons against hand-computed intervals;
a small run on the embedded MNIST sample with an untrained generator checks
that every condition is what it says (same real-only classifier per seed,
held-out digits from the held-out split, copies from the classifier's own
digits) without training anything.
"""

import json
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats
from sklearn.linear_model import LogisticRegression

from synthbook import gan
from synthbook.chapters import separating_power as B
from synthbook.data import book_splits, load_mnist

SMALL = B.ControlDesign(
    amounts=(5, 10), oddness=(0.0, 0.5), rules=("conditioning", "judge"), seeds=(0, 1)
)


def judge_says_9(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros(len(x), 10).index_fill_(1, torch.tensor([9]), 1.0)


@pytest.fixture(scope="module")
def setting():
    splits = book_splits(load_mnist("embedded", verbose=False), seed=0)
    view = B.build_problem(splits.train, splits.test, (4, 9))
    torch.manual_seed(0)
    generator, _ = gan.build_models(gan.GANConfig())
    return splits, view, generator


@pytest.fixture(scope="module")
def rows(setting):
    splits, view, generator = setting
    return B.run_controls(view, generator, splits.judge, SMALL, judge=judge_says_9)


# ---------------------------------------------------------------- paired intervals


def made_rows(values: dict[str, list[float]], amount: int = 10) -> list[dict]:
    out = []
    for strategy, per_seed in values.items():
        for seed, value in enumerate(per_seed):
            out.append(
                {
                    "seed": seed,
                    "strategy": strategy,
                    "amount": 0 if strategy == "none" else amount,
                    "accuracy": value,
                }
            )
    return out


def test_compare_matches_a_paired_t_interval_by_hand() -> None:
    before = [0.90, 0.92, 0.91, 0.93, 0.90]
    after = [0.89, 0.90, 0.90, 0.90, 0.88]
    rows = made_rows({"none": before, "real": after})
    result = B.compare(rows, ("real", 10))
    diff = np.subtract(after, before)
    half = scipy_stats.t.ppf(0.975, 4) * diff.std(ddof=1) / np.sqrt(5)
    assert result["mean"] == pytest.approx(diff.mean())
    assert result["low"] == pytest.approx(diff.mean() - half)
    assert result["high"] == pytest.approx(diff.mean() + half)
    assert result["verdict"] == "lower" and result["n"] == 5
    text = B.format_difference(result)
    assert text == (
        f"{100 * diff.mean():+.1f} points (95% interval "
        f"{100 * (diff.mean() - half):+.1f} to {100 * (diff.mean() + half):+.1f})"
    )


def test_a_condition_that_adds_nothing_is_not_distinguishable() -> None:
    same = [0.9, 0.8, 0.85]
    result = B.compare(made_rows({"none": same, "real": same}), ("real", 10))
    assert (result["mean"], result["low"], result["high"]) == (0.0, 0.0, 0.0)
    assert result["verdict"] == "not distinguishable"


def test_nan_never_passes_as_not_distinguishable() -> None:
    rows = made_rows({"none": [0.5, 0.5], "real": [0.6, float("nan")]})
    with pytest.raises(ValueError, match="NaN"):
        B.compare(rows, ("real", 10))


def test_condition_keys_and_design_checks() -> None:
    assert B.condition_key("synthetic", 0.3, "judge") == "synthetic 0.3 judge"
    assert B.condition_key("real", 0.3, "judge") == "real"
    with pytest.raises(ValueError, match="unknown condition"):
        B.condition_key("vibes")
    with pytest.raises(ValueError, match="labelling rule"):
        B.condition_key("balanced", 0.0, "vibes")
    with pytest.raises(ValueError, match="at least two seeds"):
        B.ControlDesign(seeds=(0,))
    with pytest.raises(ValueError, match="1 or more"):
        B.ControlDesign(amounts=(0, 10))
    with pytest.raises(ValueError, match="unknown model"):
        B.ControlDesign(model="forest")


# ------------------------------------------------------------ the run, checked


def test_every_condition_of_every_seed_is_run(rows) -> None:
    generated = len(SMALL.oddness) * len(SMALL.rules) * len(B.GENERATED)
    per_seed = 1 + len(SMALL.amounts) * (2 + generated)
    assert len(rows) == per_seed * len(SMALL.seeds)
    keys = [(r["seed"], r["strategy"], r["amount"]) for r in rows]
    assert len(set(keys)) == len(keys)


def test_real_only_classifier_is_trained_on_a_seeded_draw(setting, rows) -> None:
    splits, view, _ = setting
    for seed in SMALL.seeds:
        base = B.base_sample(view.train_y, view.digits, SMALL.base_per_class, seed)
        counts = np.bincount(view.train_y[base], minlength=10)
        assert counts[4] == counts[9] == SMALL.base_per_class
        # An independent fit on those rows gives the "none" row's accuracy.
        clf = LogisticRegression(C=1.0, max_iter=1000)
        clf.fit(view.train_xy[base], view.train_y[base])
        none = next(r for r in rows if r["seed"] == seed and r["strategy"] == "none")
        assert none["accuracy"] == pytest.approx(clf.score(view.test_xy, view.test_y))
    draws = [B.base_sample(view.train_y, view.digits, 250, seed) for seed in (0, 1)]
    assert not np.array_equal(*draws)


def test_controls_come_from_where_they_say(setting) -> None:
    splits, view, generator = setting
    run = B.run_seed(view, generator, splits.judge, SMALL, 0, judge=judge_says_9)
    largest = max(SMALL.amounts)
    held_out = splits.judge.images[splits.judge.labels == 4].numpy()
    real = run.pools["real"]
    assert real.provenance == "real" and len(real) == largest
    for image in real.images:  # every held-out digit is a real judge-split 4
        assert np.any(np.all(held_out == image, axis=(1, 2)))
    assert np.allclose(real.xy, view.embed(real.images))
    copies = run.pools["oversampled"]
    base_fours = {
        tuple(p) for p in view.train_xy[run.base][view.train_y[run.base] == 4]
    }
    assert all(tuple(p) in base_fours for p in copies.xy)
    synthetic = run.pools["synthetic 0.5"]
    assert synthetic.provenance == "synthetic" and np.all(synthetic.requested == 4)
    balanced = run.pools["balanced 0.5"]
    assert balanced.requested.tolist()[:4] == [4, 9, 4, 9]


def test_too_few_held_out_digits_is_a_clear_error(setting) -> None:
    splits, view, generator = setting
    design = B.ControlDesign(amounts=(500,), rules=("conditioning",), seeds=(0, 1))
    with pytest.raises(ValueError, match="held-out data have only"):
        B.run_controls(view, generator, splits.judge, design)


def test_judge_rule_needs_a_judge(setting) -> None:
    splits, view, generator = setting
    with pytest.raises(ValueError, match="judge="):
        B.run_controls(view, generator, splits.judge, SMALL)


def test_comparison_table_and_counts(rows) -> None:
    table = B.comparison_table(rows, "accuracy")
    synthetic = [r for r in table if r["condition"] == "synthetic"]
    against = {r["against"] for r in synthetic}
    assert against == {"none", "real", "oversampled", "balanced"}
    n = len(SMALL.oddness) * len(SMALL.rules) * len(SMALL.amounts)
    counts = B.verdict_counts(table, condition="synthetic", against="none")
    assert sum(counts.values()) == n
    for r in table:
        assert r["low"] <= r["mean"] <= r["high"]
    markdown = B.controls_markdown(table, oddness=0.5, rule="judge")
    assert markdown.count("\n") == 1 + len(B.KIND_STYLE)


# ---------------------------------------------------------------- static panel


def test_static_panel_has_a_frame_for_every_setting(setting, rows) -> None:
    splits, view, generator = setting
    tables = {m: B.comparison_table(rows, m) for m in ("accuracy", "auc")}
    panel = B.static_panel(
        view, generator, splits.judge, tables, SMALL, judge=judge_says_9
    )
    html = panel.data
    assert html.count("<select") == 4
    data = json.loads(re.search(r"var data=(\{.*?\});", html).group(1))
    frames, pictures = data["frames"], data["pictures"]
    n = len(B.KIND_LABELS) * len(SMALL.amounts) * len(SMALL.oddness) * len(SMALL.rules)
    assert len(frames) == n
    for key, frame in frames.items():
        assert pictures[frame["p"]].startswith("data:image/png;base64,")
        kind = json.loads(key.split("|")[0])
        shown = "real and synthetic" if kind in B.GENERATED else "shows real digits"
        assert shown in frame["alt"]
        assert "interval" in frame["text"]
    # Real digits need no rule or oddness: one picture for all of them.
    real = {f["p"] for k, f in frames.items() if k.startswith('"real"')}
    assert len(real) == len(SMALL.amounts)
