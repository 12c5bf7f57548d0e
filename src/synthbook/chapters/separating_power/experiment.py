"""One condition of the experiment, and how far the boundary moved.

:func:`run_condition` trains the 2-D classifier on real points, then on real
points plus some added ones (synthetic, or real controls), and
:func:`shift_measures` says how far the boundary moved: the share of real test
digits whose predicted label flips, the change in per-class recall, accuracy,
threshold-free separating power (ROC AUC) and probability margin, and where the
boundary crosses the line between the two class means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthbook.chapters.separating_power.geometry import (
    MODELS,
    BoundaryProblem,
    boundary_crossing,
    check_amount,
    check_choice,
    decision_grid,
    fit_classifier,
    probability_margin,
    separation_auc,
)
from synthbook.chapters.separating_power.pool import RULES, SyntheticPool, check_rule


@dataclass(frozen=True, eq=False)
class ShiftMeasures:
    """How a classifier's decisions on real test digits changed.

    Attributes
    ----------
    digits : tuple of int
    test_y : numpy.ndarray
        True labels of the real test points.
    pred_before, pred_after : numpy.ndarray
        Predicted labels before and after.
    margin_before, margin_after : numpy.ndarray
        :func:`probability_margin` of each real test point.
    crossing_before, crossing_after : float
        :func:`boundary_crossing` along the line from the mean real
        ``digits[0]`` to the mean real ``digits[1]`` (training points).
    auc_before, auc_after : float
        :func:`separation_auc` on the real test points.
    """

    digits: tuple[int, ...]
    test_y: np.ndarray
    pred_before: np.ndarray
    pred_after: np.ndarray
    margin_before: np.ndarray
    margin_after: np.ndarray
    crossing_before: float
    crossing_after: float
    auc_before: float = float("nan")
    auc_after: float = float("nan")

    @property
    def flipped(self) -> np.ndarray:
        """Boolean mask: real test points whose predicted label changed."""
        return self.pred_before != self.pred_after

    @property
    def flip_share(self) -> float:
        """Share of real test points whose predicted label changed."""
        return float(self.flipped.mean())

    def flip_counts(self) -> dict[tuple[int, int], int]:
        """Count flips by ``(label before, label after)``."""
        counts: dict[tuple[int, int], int] = {}
        for a, b in zip(
            self.pred_before[self.flipped], self.pred_after[self.flipped], strict=True
        ):
            counts[(int(a), int(b))] = counts.get((int(a), int(b)), 0) + 1
        return counts

    def _recall(self, pred: np.ndarray) -> dict[int, float]:
        return {d: float((pred[self.test_y == d] == d).mean()) for d in self.digits}

    @property
    def recall_before(self) -> dict[int, float]:
        """Per-digit recall on real test points before adding digits."""
        return self._recall(self.pred_before)

    @property
    def recall_after(self) -> dict[int, float]:
        """Per-digit recall on real test points after adding digits."""
        return self._recall(self.pred_after)

    @property
    def recall_change(self) -> dict[int, float]:
        """Per-digit recall after minus before."""
        before, after = self.recall_before, self.recall_after
        return {d: after[d] - before[d] for d in self.digits}

    @property
    def accuracy_before(self) -> float:
        """Accuracy on real test points before."""
        return float((self.pred_before == self.test_y).mean())

    @property
    def accuracy_after(self) -> float:
        """Accuracy on real test points after."""
        return float((self.pred_after == self.test_y).mean())

    @property
    def margin_change(self) -> float:
        """Mean change in probability margin of real test points (after - before)."""
        return float(np.mean(self.margin_after - self.margin_before))

    def reversed(self) -> ShiftMeasures:
        """Return the same comparison the other way round (after -> before)."""
        return ShiftMeasures(
            self.digits,
            self.test_y,
            self.pred_after,
            self.pred_before,
            self.margin_after,
            self.margin_before,
            self.crossing_after,
            self.crossing_before,
            self.auc_after,
            self.auc_before,
        )

    def as_dict(self) -> dict[str, float]:
        """Flat numbers for tables and the command line."""
        out = {
            "flip_share": self.flip_share,
            "flips": float(self.flipped.sum()),
            "accuracy_before": self.accuracy_before,
            "accuracy_after": self.accuracy_after,
            "auc_before": self.auc_before,
            "auc_after": self.auc_after,
            "margin_mean_before": float(self.margin_before.mean()),
            "margin_mean_after": float(self.margin_after.mean()),
            "margin_change": self.margin_change,
            "crossing_before": self.crossing_before,
            "crossing_after": self.crossing_after,
        }
        for d in self.digits:
            out[f"recall_{d}_before"] = self.recall_before[d]
            out[f"recall_{d}_after"] = self.recall_after[d]
        return out

    def summary(self) -> str:
        """Describe the shift in a few lines of plain text (for the command line)."""
        counts = sorted(self.flip_counts().items())
        flips = ", ".join(f"{n} from {a} to {b}" for (a, b), n in counts)
        lines = [
            f"real test digits whose predicted label flipped: "
            f"{int(self.flipped.sum())} of {len(self.test_y)} ({self.flip_share:.1%})"
            + (f": {flips}" if flips else ""),
            f"accuracy on real test digits: {self.accuracy_before:.1%} -> "
            f"{self.accuracy_after:.1%}",
            f"separating power (ROC AUC) on real test digits: "
            f"{self.auc_before:.3f} -> {self.auc_after:.3f}",
        ]
        lines += [
            f"recall of {d}: {self.recall_before[d]:.1%} -> {self.recall_after[d]:.1%} "
            f"({100 * self.recall_change[d]:+.1f} points)"
            for d in self.digits
        ]
        lines.append(
            "mean probability margin on real test digits: "
            f"{self.margin_before.mean():.3f} -> {self.margin_after.mean():.3f} "
            f"({self.margin_change:+.3f})"
        )
        a, b = self.digits[:2]
        lines.append(
            f"boundary on the line from the average {a} to the average {b}: "
            f"{_fmt_fraction(self.crossing_before)} -> "
            f"{_fmt_fraction(self.crossing_after)} of the way"
        )
        return "\n".join(lines)


def _fmt_fraction(value: float) -> str:
    return "nowhere" if np.isnan(value) else f"{value:.0%}"


def shift_measures(before: Any, after: Any, problem: BoundaryProblem) -> ShiftMeasures:
    """Compare two classifiers on the real test points of ``problem``.

    Parameters
    ----------
    before, after : fitted scikit-learn classifiers
        Typically trained on real data only, and on real plus added data.
    problem : BoundaryProblem
        Supplies the real test points and the class means for the crossing.
    """
    means = problem.class_means()
    first = problem.digits[0]
    xy, y = problem.test_xy, problem.test_y
    return ShiftMeasures(
        digits=problem.digits,
        test_y=y,
        pred_before=before.predict(xy),
        pred_after=after.predict(xy),
        margin_before=probability_margin(before, xy, y),
        margin_after=probability_margin(after, xy, y),
        crossing_before=boundary_crossing(before, means[0], means[1], first),
        crossing_after=boundary_crossing(after, means[0], means[1], first),
        auc_before=separation_auc(before, xy, y),
        auc_after=separation_auc(after, xy, y),
    )


@dataclass(frozen=True, eq=False)
class BoundaryResult:
    """One condition: the classifier before and after adding points."""

    problem: BoundaryProblem
    before: Any
    after: Any
    synthetic_xy: np.ndarray
    synthetic_y: np.ndarray
    contested: np.ndarray
    rule: str
    model: str
    shift: ShiftMeasures
    provenance: str = "synthetic"

    @property
    def amount(self) -> int:
        """How many points were added."""
        return len(self.synthetic_xy)


def run_condition(
    problem: BoundaryProblem,
    pool: SyntheticPool | None,
    *,
    amount: int,
    rule: str = "conditioning",
    model: str = "logistic",
    seed: int = 0,
    before: Any = None,
    train_index: np.ndarray | None = None,
) -> BoundaryResult:
    """Train on real points, then on real plus ``amount`` added points; compare.

    Parameters
    ----------
    problem : BoundaryProblem
    pool : SyntheticPool or None
        Where the added points come from (``None`` only with ``amount=0``).
    amount : int
        How many points to add (the first ``amount`` of the pool).
    rule : str
        Which labelling rule labels them (:data:`RULES`).
    model : str
        Which classifier (:data:`MODELS`).
    seed : int
        Seed for the classifier.
    before : fitted classifier, optional
        Reuse an already trained real-only classifier (trained on the same
        real points as ``train_index`` selects).
    train_index : numpy.ndarray, optional
        Train on these rows of ``problem.train_xy`` only (default: all).
    """
    check_rule(rule)
    check_choice(model, MODELS, "model")
    amount = check_amount(amount, None if pool is None else len(pool))
    if pool is None and amount > 0:
        raise ValueError("amount > 0 needs a pool of points to add")
    rows = slice(None) if train_index is None else np.asarray(train_index)
    real_xy, real_y = problem.train_xy[rows], problem.train_y[rows]
    if before is None:
        before = fit_classifier(real_xy, real_y, model=model, seed=seed)
    if amount == 0:
        added_xy = np.empty((0, 2))
        added_y = np.empty(0, dtype=problem.train_y.dtype)
        contested = np.zeros(0, dtype=bool)
        after = before
    else:
        added_xy = pool.xy[:amount]
        added_y = pool.labels_for(rule)[:amount]
        stray = set(np.unique(added_y).tolist()) - set(problem.digits)
        if stray:
            raise ValueError(
                f"added labels {sorted(stray)} are not among {problem.digits}"
            )
        contested = pool.contested()[:amount]
        after = fit_classifier(
            np.concatenate([real_xy, added_xy]),
            np.concatenate([real_y, added_y]),
            model=model,
            seed=seed,
        )
    shift = shift_measures(before, after, problem)
    provenance = "synthetic" if pool is None else pool.provenance
    return BoundaryResult(
        problem,
        before,
        after,
        added_xy,
        added_y,
        contested,
        rule,
        model,
        shift,
        provenance,
    )


def swept_region(result: BoundaryResult, resolution: int = 200) -> dict[str, float]:
    """Measure the region that changed label, and who stood in it.

    The region is the part of the plotted frame (:meth:`BoundaryProblem.limits`)
    where the classifier's prediction differs before and after. A point lies in
    it exactly when its own prediction changed.

    Returns
    -------
    dict
        ``area_share`` (share of the frame that changed label), and how many
        real training, real test and added points lie in the region
        (``real_train``, ``real_test``, ``synthetic``), with the totals
        (``n_real_train``, ``n_real_test``, ``n_synthetic``).
    """
    problem = result.problem
    xx, yy = decision_grid(problem, resolution)
    grid_points = np.c_[xx.ravel(), yy.ravel()]

    def changed(points: np.ndarray) -> int:
        if len(points) == 0:
            return 0
        return int(
            np.sum(result.before.predict(points) != result.after.predict(points))
        )

    return {
        "area_share": changed(grid_points) / len(grid_points),
        "real_train": changed(problem.train_xy),
        "real_test": changed(problem.test_xy),
        "synthetic": changed(result.synthetic_xy),
        "n_real_train": len(problem.train_xy),
        "n_real_test": len(problem.test_xy),
        "n_synthetic": result.amount,
    }


def sweep(
    problem: BoundaryProblem,
    pools: Mapping[float, SyntheticPool],
    *,
    amounts: Sequence[int],
    rules: Sequence[str] = RULES,
    model: str = "logistic",
    seed: int = 0,
) -> list[dict[str, float | str]]:
    """Run every (oddness, amount, rule) condition and return one row of measures each.

    ``pools`` maps an oddness value to the pool generated with it. One run, no
    repetition: for verdicts use :func:`run_controls`, which repeats over seeds.
    """
    before = fit_classifier(problem.train_xy, problem.train_y, model=model, seed=seed)
    rows: list[dict[str, float | str]] = []
    for oddness, pool in pools.items():
        for rule in rules:
            for amount in amounts:
                result = run_condition(
                    problem,
                    pool,
                    amount=amount,
                    rule=rule,
                    model=model,
                    seed=seed,
                    before=before,
                )
                rows.append(
                    {
                        "oddness": float(oddness),
                        "amount": int(amount),
                        "rule": rule,
                        **result.shift.as_dict(),
                    }
                )
    return rows
