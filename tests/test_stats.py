"""synthbook.stats against scipy and constructed cases."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from synthbook import stats


def test_paired_difference_removes_seed_effects() -> None:
    # Seeds swing the baseline widely, but the strategy adds exactly 0.1 in each.
    base = [0.2, 0.8, 0.5, 0.3, 0.9]
    rows = [
        {"seed": s, "strategy": "none", "amount": 0, "rare_recall": b}
        for s, b in enumerate(base)
    ]
    rows += [
        {"seed": s, "strategy": "perturb", "amount": 48, "rare_recall": b + 0.1}
        for s, b in enumerate(base)
    ]
    result = stats.paired_difference(rows, ("perturb", 48))
    assert result["mean"] == pytest.approx(0.1)
    assert result["low"] == pytest.approx(0.1) and result["high"] == pytest.approx(0.1)
    assert result["verdict"] == "higher" and result["n"] == 5
    # Unpaired, the two intervals overlap: the seeds' spread hides the gain.
    summary = {r["strategy"]: r for r in stats.summarise(rows)}
    assert summary["perturb"]["low"] < summary["none"]["high"]
    flipped = stats.paired_difference(rows, ("none", 0), baseline=("perturb", 48))
    assert flipped["verdict"] == "lower"


def test_paired_difference_needs_shared_seeds() -> None:
    rows = [{"seed": 0, "strategy": "none", "amount": 0, "rare_recall": 0.5}]
    with pytest.raises(ValueError, match="no seed has both"):
        stats.paired_difference(rows, ("gan", 288))


def test_mean_interval_matches_scipy() -> None:
    values = [0.2, 0.5, 0.4, 0.9, 0.3]
    mean, low, high = stats.mean_interval(values)
    expected = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
    )
    assert mean == pytest.approx(np.mean(values))
    assert (low, high) == pytest.approx(expected)
    assert stats.mean_interval([0.7]) == (0.7, 0.7, 0.7)


@pytest.mark.parametrize("seed", range(6))
def test_paired_difference_is_the_paired_t_interval(seed: int) -> None:
    # scipy's paired t-test gives the same interval, and "excludes zero" is
    # exactly "p below 0.05" for the two-sided test.
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.1, 0.9, 5)
    other = base + rng.normal(0.05 * (seed - 2), 0.05, 5)
    rows = [
        {"seed": s, "strategy": name, "amount": amount, "rare_recall": float(v)}
        for name, amount, values in (("none", 0, base), ("gan", 48, other))
        for s, v in enumerate(values)
    ]
    ours = stats.paired_difference(rows, ("gan", 48))
    test = scipy_stats.ttest_rel(other, base)
    low, high = test.confidence_interval(0.95)
    assert (ours["low"], ours["high"]) == pytest.approx((low, high))
    assert ours["mean"] == pytest.approx(float(np.mean(other - base)))
    assert (ours["verdict"] != "not distinguishable") == (test.pvalue < 0.05)


def test_summarise_groups_by_condition() -> None:
    rows = [
        {"seed": s, "strategy": "gan", "amount": a, "rare_recall": 0.1 * s + a / 100}
        for s in range(4)
        for a in (10, 20)
    ]
    summary = {r["amount"]: r for r in stats.summarise(rows)}
    assert summary[10]["n"] == 4 and summary[10]["mean"] == pytest.approx(0.25)
    assert summary[20]["mean"] - summary[10]["mean"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.123, "+0.12"),
        (-0.5, "-0.50"),
        (-0.002, "-0.002"),  # rounds to zero at two digits: one more shows the sign
        (0.0004, "+0.0004"),
        (0.0, "0.00"),
        (-0.0, "0.00"),
    ],
)
def test_signed_never_prints_a_signed_zero(value: float, text: str) -> None:
    assert stats.signed(value) == text


def test_an_interval_that_excludes_zero_shows_it() -> None:
    found = {"mean": -0.09, "low": -0.17, "high": -0.0021}
    assert stats.interval_text(found) == "-0.09 [-0.17, -0.002]"
