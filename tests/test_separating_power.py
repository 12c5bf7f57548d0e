"""Decision boundaries that move: constructed cases whose answer is known.

The experiment with its controls and the static panel are tested in
``test_separating_power_controls.py``.
"""

import copy

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from synthbook.chapters import separating_power as B
from synthbook.data import book_splits, load_mnist

A, C = 4, 9  # two digit labels for the constructed blobs


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two round Gaussian clouds: label A around (-2, 0), label C around (+2, 0)."""
    rng = np.random.default_rng(seed)
    xy = np.concatenate(
        [rng.normal((-2, 0), 1.0, (n, 2)), rng.normal((2, 0), 1.0, (n, 2))]
    )
    return xy, np.repeat([A, C], n)


@pytest.fixture(scope="module")
def problem() -> B.BoundaryProblem:
    train_xy, train_y = blobs(200, seed=0)
    test_xy, test_y = blobs(200, seed=1)
    return B.BoundaryProblem.from_points((A, C), train_xy, train_y, test_xy, test_y)


def pool_near_c(size: int = 150) -> B.SyntheticPool:
    """Synthetic points that sit inside C's cloud but are labelled A by every rule."""
    rng = np.random.default_rng(2)
    xy = rng.normal((1.0, 0.0), 0.3, (size, 2))
    labels = np.full(size, A)
    return B.SyntheticPool(
        xy,
        labels,
        np.full(size, C),
        np.full(size, 0.4),
        {"conditioning": labels, "judge": labels, "nearest": labels},
    )


def test_points_added_on_one_side_push_the_boundary_to_the_other(problem) -> None:
    result = B.run_condition(problem, pool_near_c(), amount=150, rule="conditioning")
    shift = result.shift
    # The real-only boundary sits near half-way between the two means ...
    assert 0.4 < shift.crossing_before < 0.6
    # ... and A-labelled points inside C's cloud drag it toward C.
    assert shift.crossing_after > shift.crossing_before + 0.05
    assert shift.flipped.sum() > 0
    # Only C test points can flip, and only to A.
    assert set(shift.flip_counts()) == {(C, A)}
    assert shift.recall_change[A] >= 0 > shift.recall_change[C]
    assert shift.accuracy_after < shift.accuracy_before


def test_more_points_move_it_further(problem) -> None:
    pool = pool_near_c()
    shares = [
        B.run_condition(problem, pool, amount=n).shift.flip_share for n in (0, 30, 150)
    ]
    assert shares[0] == 0 < shares[1] <= shares[2]


def test_zero_added_points_give_zero_flips(problem) -> None:
    for pool in (None, pool_near_c()):
        result = B.run_condition(problem, pool, amount=0, rule="nearest")
        shift = result.shift
        assert shift.flip_share == 0.0 and shift.flip_counts() == {}
        assert shift.margin_change == 0.0
        assert shift.crossing_after == shift.crossing_before
        assert all(v == 0 for v in shift.recall_change.values())
        assert result.amount == 0


def test_measures_are_symmetric(problem) -> None:
    result = B.run_condition(problem, pool_near_c(), amount=100)
    forward = result.shift
    backward = B.shift_measures(result.after, result.before, problem)
    assert backward.flip_share == forward.flip_share
    assert backward.flip_counts() == {
        (b, a): n for (a, b), n in forward.flip_counts().items()
    }
    for d in (A, C):
        assert backward.recall_change[d] == pytest.approx(-forward.recall_change[d])
    assert backward.margin_change == pytest.approx(-forward.margin_change)
    assert (backward.crossing_before, backward.crossing_after) == (
        forward.crossing_after,
        forward.crossing_before,
    )
    assert forward.reversed().as_dict() == pytest.approx(backward.as_dict())


def test_margin_sign_matches_correctness(problem) -> None:
    clf = B.fit_classifier(problem.train_xy, problem.train_y)
    margin = B.probability_margin(clf, problem.test_xy, problem.test_y)
    correct = clf.predict(problem.test_xy) == problem.test_y
    assert np.all((margin > 0) == correct)
    assert np.all(np.abs(margin) <= 1)


def test_mlp_is_seeded(problem) -> None:
    runs = [
        B.run_condition(problem, pool_near_c(), amount=50, model="mlp", seed=3).shift
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].pred_after, runs[1].pred_after)


def test_labelling_rules_on_constructed_images() -> None:
    top = np.zeros((28, 28), np.float32)
    top[:14] = 1.0
    bottom = 1.0 - top
    reference = np.stack([top, bottom]).reshape(2, -1)
    requested = np.array([A, A, C])
    toward = np.array([C, C, A])
    weight = np.array([0.3, 0.5, 0.2])
    images = np.stack(
        [0.7 * top + 0.3 * bottom, 0.5 * top + 0.5 * bottom, 0.8 * bottom + 0.2 * top]
    )

    def judge(x: torch.Tensor) -> torch.Tensor:
        # Scores 7 highest (not in the set); among 4 and 9 it prefers 9.
        scores = torch.zeros(len(x), 10)
        scores[:, 7], scores[:, C], scores[:, A] = 5.0, 2.0, 1.0
        return scores

    labels = B.assign_labels(
        requested,
        toward,
        weight,
        (A, C),
        images=images,
        judge=judge,
        reference_pixels=reference,
        reference_labels=np.array([A, C]),
    )
    assert labels["conditioning"].tolist() == [A, A, C]  # a tie goes to the request
    assert labels["judge"].tolist() == [C, C, C]  # restricted to the digits of the set
    assert labels["nearest"][[0, 2]].tolist() == [A, C]
    pool = B.SyntheticPool(np.zeros((3, 2)), requested, toward, weight, labels)
    assert pool.contested().tolist() == [True, True, False]


def test_blend_plan_alternates_requests() -> None:
    requested, toward, weight = B.blend_plan((3, 5, 8), 6, 0.25)
    assert requested.tolist() == [3, 5, 8, 3, 5, 8]
    assert toward.tolist() == [5, 8, 3, 5, 8, 3]
    assert np.all(weight == 0.25)
    requested, _, _ = B.blend_plan((4, 9), 4, 0.1, source=9)
    assert requested.tolist() == [9, 9, 9, 9]


@pytest.mark.parametrize(
    ("digits", "message"),
    [
        ((4, 4), "same class twice"),
        ((4, 10), "digit 0 to 9, got 10"),
        ((-1, 3), "digit 0 to 9, got -1"),
        ((4,), "two or three"),
        ((1, 2, 3, 4), "two or three"),
        (("a", 3), "as a number"),
    ],
)
def test_bad_digits_raise(digits, message) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        B.check_digits(digits)


def test_bad_inputs_raise(problem) -> None:
    pool = pool_near_c(20)
    with pytest.raises(ValueError, match="0 or more"):
        B.run_condition(problem, pool, amount=-5)
    with pytest.raises(ValueError, match="unknown labelling rule"):
        B.run_condition(problem, pool, amount=5, rule="vibes")
    with pytest.raises(ValueError, match="more than the 20"):
        B.run_condition(problem, pool, amount=21)
    with pytest.raises(ValueError, match="unknown model"):
        B.run_condition(problem, pool, amount=5, model="forest")
    with pytest.raises(ValueError, match="needs a pool"):
        B.run_condition(problem, None, amount=5)
    with pytest.raises(ValueError, match="oddness"):
        B.blend_plan((4, 9), 10, 0.7)
    with pytest.raises(ValueError, match="not one of"):
        B.blend_plan((4, 9), 10, 0.2, source=3)
    missing_judge = B.SyntheticPool(
        pool.xy,
        pool.requested,
        pool.toward,
        pool.weight,
        {"conditioning": pool.labels["conditioning"]},
    )
    with pytest.raises(ValueError, match="not available"):
        B.run_condition(problem, missing_judge, amount=5, rule="judge")


def test_render_is_pure_and_has_alt_text(problem) -> None:
    fig = B.render_boundary(
        problem, pool_near_c(), amount=100, rule="judge", resolution=60
    )
    again = B.render_boundary(
        problem, pool_near_c(), amount=100, rule="judge", resolution=60
    )
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 2
    assert fig.synthbook_alt == again.synthbook_alt
    assert "100 synthetic digits labelled by the judge rule" in fig.synthbook_alt
    tag = B.figure_html(fig, fig.synthbook_alt)
    assert (
        tag.startswith('<img src="data:image/png;base64,')
        and 'alt="Two decision' in tag
    )
    with pytest.raises(ValueError, match="alt text"):
        B.figure_html(again, "  ")
    grid = B.small_multiples(
        problem, pool_near_c(), amounts=(0, 50), rules=("conditioning",), resolution=40
    )
    # Two panels and one strip for the figure's provenance tag.
    assert len(grid.axes) == 3
    assert "REAL AND SYNTHETIC DIGITS" in texts(grid)
    plt.close("all")


def texts(fig: plt.Figure) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_every_regions_plot_says_what_it_shows(problem) -> None:
    real_only = B.render_boundary(problem, None, amount=0, resolution=30)
    assert texts(real_only).split() == ["REAL", "DIGITS", "REAL", "DIGITS"]
    added_real = B.points_pool(
        np.random.default_rng(4).normal((-2, 0), 1.0, (30, 2)), np.full(30, A)
    )
    fig = B.render_boundary(problem, added_real, amount=30, resolution=30)
    assert "SYNTHETIC" not in texts(fig)
    assert "30 real digits" in fig.synthbook_alt
    fig = B.render_boundary(problem, pool_near_c(), amount=30, resolution=30)
    assert "REAL AND SYNTHETIC DIGITS" in texts(fig)
    assert B.shows(False, None, True, "synthetic") == "synthetic"
    assert B.shows(False, np.array([True]), True, "synthetic") == "mixed"
    assert B.shows(True, None, True, "real") == "real"
    plt.close("all")


def test_sweep_rows(problem) -> None:
    rows = B.sweep(
        problem, {0.4: pool_near_c()}, amounts=(0, 100), rules=("conditioning",)
    )
    assert [r["amount"] for r in rows] == [0, 100]
    assert rows[0]["flip_share"] == 0 < rows[1]["flip_share"]


def test_real_view_is_fitted_on_train_and_fixed() -> None:
    splits = book_splits(load_mnist("embedded", verbose=False), seed=0)
    for projection in B.PROJECTIONS:
        view = B.build_problem(splits.train, splits.test, (4, 9), projection=projection)
        test_images = splits.test.images[np.isin(splits.test.labels.numpy(), (4, 9))]
        assert np.allclose(view.embed(test_images), view.test_xy)
        means = view.class_means()
        assert means[0, 0] <= means[1, 0] and means[0, 1] <= means[1, 1]
        assert len(view.train_y) == 600 and len(view.test_y) == 200
    # The supervised view keeps confusable digits apart well enough to draw.
    pls = B.build_problem(splits.train, splits.test, (4, 9))
    result = B.run_condition(pls, None, amount=0)
    assert result.shift.accuracy_before > 0.85
    with pytest.raises(ValueError, match="unknown projection"):
        B.build_problem(splits.train, splits.test, (4, 9), projection="tsne")


def test_swept_region_counts_points_that_changed(problem) -> None:
    result = B.run_condition(problem, pool_near_c(), amount=150)
    region = B.swept_region(result, resolution=50)
    assert 0 < region["area_share"] < 1
    assert region["real_test"] == result.shift.flipped.sum()
    assert region["n_synthetic"] == 150
    unchanged = B.swept_region(B.run_condition(problem, None, amount=0), resolution=50)
    assert unchanged["area_share"] == 0 and unchanged["synthetic"] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pair", "4", "4"], "same class twice"),
        (["--pair", "4", "12"], "digit 0 to 9, got 12"),
        (["--amount", "-3"], "0 or more"),
        (["--rule", "vibes"], "unknown labelling rule"),
        (["--oddness", "0.9"], "oddness"),
    ],
)
def test_cli_rejects_bad_inputs_before_any_work(argv, message, capsys) -> None:
    from synthbook.tools.cli import main

    assert main(["boundaries", *argv]) == 2
    assert message in capsys.readouterr().err


def test_make_pool_with_an_untrained_generator() -> None:
    gan = pytest.importorskip("synthbook.gan")
    splits = book_splits(load_mnist("embedded", verbose=False), seed=0)
    view = B.build_problem(splits.train, splits.test, (4, 9))
    torch.manual_seed(0)
    generator, _ = gan.build_models(gan.GANConfig())

    def judge(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), 10).index_fill_(1, torch.tensor([9]), 1.0)

    pool = B.make_pool(
        generator, view, size=40, oddness=0.25, seed=1, judge=judge, source=4
    )
    again = B.make_pool(
        generator, view, size=40, oddness=0.25, seed=1, judge=judge, source=4
    )
    assert pool.xy.shape == (40, 2) and pool.images.shape == (40, 28, 28)
    assert np.array_equal(pool.xy, again.xy)
    assert set(pool.labels) == set(B.RULES)
    assert np.all(pool.labels["conditioning"] == 4) and np.all(
        pool.labels["judge"] == 9
    )
    assert set(np.unique(pool.labels["nearest"])) <= {4, 9}
    result = B.run_condition(view, pool, amount=40, rule="judge")
    assert result.amount == 40


# ------------------------------------------- adding real points: the expected move


def bayes_crossing(n_first: int, n_second: int, distance: float = 4.0) -> float:
    """Closed form: where the Bayes boundary of two unit Gaussians crosses the segment.

    With means ``distance`` apart and equal unit covariance, the boundary sits
    ``log(n_first / n_second) / distance`` past the midpoint toward the second
    mean; as a fraction of the segment from the first mean to the second.
    """
    return 0.5 + np.log(n_first / n_second) / distance**2


@pytest.fixture(scope="module")
def large() -> B.BoundaryProblem:
    rng = np.random.default_rng(10)
    train = np.concatenate(
        [rng.normal((-2, 0), 1.0, (2000, 2)), rng.normal((2, 0), 1.0, (2000, 2))]
    )
    test = np.concatenate(
        [rng.normal((-2, 0), 1.0, (500, 2)), rng.normal((2, 0), 1.0, (500, 2))]
    )
    labels = np.repeat([A, C], 2000)
    return B.BoundaryProblem.from_points(
        (A, C), train, labels, test, np.repeat([A, C], 500)
    )


def test_new_real_points_of_one_class_move_the_line_as_the_closed_form_says(
    large,
) -> None:
    extra = np.random.default_rng(11).normal((-2, 0), 1.0, (2000, 2))
    shift = B.run_condition(
        large, B.points_pool(extra, np.full(2000, A)), amount=2000
    ).shift
    assert shift.crossing_before == pytest.approx(bayes_crossing(1, 1), abs=0.012)
    assert shift.crossing_after == pytest.approx(bayes_crossing(2, 1), abs=0.012)
    # Only C points can change label, and only to A.
    assert set(shift.flip_counts()) <= {(C, A)} and shift.flipped.any()


def test_copies_of_one_class_move_it_the_same_way(large) -> None:
    pool = B.oversampled_pool(large.train_xy, large.train_y, A, size=2000, seed=3)
    # Copies are training points of A, not new ones.
    train_a = {tuple(p) for p in large.train_xy[large.train_y == A]}
    assert all(tuple(p) in train_a for p in pool.xy)
    assert pool.provenance == "real" and np.all(pool.labels_for("judge") == A)
    shift = B.run_condition(large, pool, amount=2000).shift
    assert shift.crossing_after == pytest.approx(bayes_crossing(2, 1), abs=0.012)


def test_a_balanced_addition_leaves_the_line_in_place(large) -> None:
    rng = np.random.default_rng(12)
    extra = np.concatenate(
        [rng.normal((-2, 0), 1.0, (1000, 2)), rng.normal((2, 0), 1.0, (1000, 2))]
    )
    pool = B.points_pool(extra, np.repeat([A, C], 1000))
    shift = B.run_condition(large, pool, amount=2000).shift
    assert abs(shift.crossing_after - shift.crossing_before) < 0.012


def test_auc_ignores_a_sliding_line_and_matches_pair_counting(problem) -> None:
    clf = B.fit_classifier(problem.train_xy, problem.train_y)
    score = clf.decision_function(problem.test_xy)
    first = score[problem.test_y == A]
    second = score[problem.test_y == C]
    # Mann-Whitney: the share of (A, C) pairs that the score orders correctly.
    pairs = (second[:, None] > first[None, :]) + 0.5 * (second[:, None] == first)
    assert B.separation_auc(clf, problem.test_xy, problem.test_y) == pytest.approx(
        pairs.mean()
    )
    slid = copy.deepcopy(clf)
    slid.intercept_ = clf.intercept_ + 2.0
    assert slid.score(problem.test_xy, problem.test_y) < clf.score(
        problem.test_xy, problem.test_y
    )
    assert B.separation_auc(slid, problem.test_xy, problem.test_y) == pytest.approx(
        B.separation_auc(clf, problem.test_xy, problem.test_y)
    )


def test_nan_points_are_refused(problem) -> None:
    bad = problem.train_xy.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        B.fit_classifier(bad, problem.train_y)
    with pytest.raises(ValueError, match="NaN"):
        B.points_pool(bad, problem.train_y)
    with pytest.raises(ValueError, match="NaN"):
        B.BoundaryProblem.from_points(
            (A, C), bad, problem.train_y, problem.test_xy, problem.test_y
        )


def test_with_train_keeps_the_view_and_the_test_points(problem) -> None:
    rows = np.arange(0, len(problem.train_y), 2)
    half = problem.with_train(rows)
    assert np.array_equal(half.train_xy, problem.train_xy[rows])
    assert half.test_xy is problem.test_xy and half.digits == problem.digits


def test_count_of_agrees_in_number() -> None:
    assert B.count_of(1, "comparison") == "1 comparison"
    assert B.count_of(0, "comparison") == "0 comparisons"
    assert B.count_of(54, "comparison") == "54 comparisons"
    assert B.count_of(1, "synthetic one", "synthetic ones") == "1 synthetic one"
    assert B.count_of(2, "synthetic one", "synthetic ones") == "2 synthetic ones"
    assert B.count_of(1000, "digit") == "1,000 digits"
    with pytest.raises(TypeError, match="n must be a whole number"):
        B.count_of(1.5, "digit")
    with pytest.raises(ValueError, match="n must be at least 0"):
        B.count_of(-1, "digit")


def test_chance_rises_matches_the_binomial_closed_form() -> None:
    # One-sided rate of a two-sided 95% interval with no effect: 2.5%.
    found = B.chance_rises(1, 54)
    assert found["rate"] == pytest.approx(0.025)
    assert found["expected"] == pytest.approx(54 * 0.025)
    # P(at least one) = 1 - P(none) = 1 - 0.975 ** 54.
    assert found["p_at_least"] == pytest.approx(1 - 0.975**54)
    # P(at least two) = 1 - P(0) - P(1).
    p_one = 54 * 0.025 * 0.975**53
    assert B.chance_rises(2, 54)["p_at_least"] == pytest.approx(1 - 0.975**54 - p_one)
    assert B.chance_rises(0, 54)["p_at_least"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="observed must be at least 0 and at most 5"):
        B.chance_rises(6, 5)
    with pytest.raises(ValueError, match="level"):
        B.chance_rises(1, 5, level=1.0)


def test_chance_reading_is_worded_for_every_outcome() -> None:
    none = B.chance_reading(0, 54, subject="synthetic 4s")
    assert none["sentence"].startswith("If synthetic 4s changed nothing, 54 tests")
    assert none["sentence"].endswith("this run showed none.")
    assert "about 1.4" in none["clause"]
    one = B.chance_reading(1, 54)
    assert "1 rise in 54 tests is about what chance alone gives" in one["sentence"]
    assert one["clause"].startswith("about what chance alone gives")
    many = B.chance_reading(6, 54)  # P(at least 6) is well below 5%
    assert "more rises than chance alone readily gives" in many["sentence"]
    assert many["clause"].startswith("more than chance alone readily gives")
