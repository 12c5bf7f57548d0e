"""Separating power: decision boundaries that move when synthetic data are added.

The chapter "Separating power" uses this module to make a classifier's lines
between digits visible, and to let the reader move them. Everything happens in
a fixed 2-D view of a few confusable digits:

1. :func:`build_problem` projects the real **train** and **test** images of two
   or three digits (say 4 and 9) to two dimensions. The projection is fitted on
   real training images only and then frozen, so every condition is drawn in
   the same coordinates.
2. The classifier is trained *in* that 2-D space (:func:`fit_classifier`), so the
   coloured regions in a plot are exactly the classifier's regions, not an
   approximation of a high-dimensional one.
3. :func:`make_pool` asks a conditional generator for synthetic digits, made
   "odd" by blending the requested label toward another digit, and
   :func:`assign_labels` gives each one a label under every labelling rule
   (:data:`RULES`): someone has to decide what an in-between digit *is*.
4. :func:`run_condition` retrains with some of those synthetic digits added and
   :func:`shift_measures` says how far the boundary moved: the share of real
   test digits whose predicted label flips, the change in per-class recall and
   in the probability margin, and where the boundary crosses the line between
   the two class means.

The geometry (steps 2 and 4) works on plain 2-D arrays, so tests can check it on
constructed point clouds whose answer is known.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from synthbook.data import MnistData
from synthbook.plotting import OKABE_ITO

#: How an ambiguous synthetic digit gets its label. ``"conditioning"``: the label
#: the generator was asked for (the dominant one in a blend); ``"judge"``: what
#: the independent judge classifier reads; ``"nearest"``: the label of the most
#: similar real training digit (1-nearest neighbour in pixel space).
RULES: tuple[str, ...] = ("conditioning", "judge", "nearest")
#: Classifiers trained in the 2-D view.
MODELS: tuple[str, ...] = ("logistic", "mlp")
#: 2-D views: partial least squares (supervised, linear) or PCA (unsupervised).
PROJECTIONS: tuple[str, ...] = ("pls", "pca")
#: Confusable digit sets offered by the widget.
CONFUSABLE: tuple[tuple[int, ...], ...] = ((4, 9), (3, 5), (1, 7), (3, 5, 8))

# Orange, blue, green from Okabe-Ito: the most distinct trio for colour-blind readers.
_CLASS_COLOURS = (OKABE_ITO[0], OKABE_ITO[4], OKABE_ITO[2])
# Blue, vermillion, reddish purple, black: lines for a sweep, told apart by marker too.
_LINE_COLOURS = (OKABE_ITO[4], OKABE_ITO[5], OKABE_ITO[6], OKABE_ITO[7])

Judge = Callable[[torch.Tensor], Any]


# --------------------------------------------------------------------------- checks


def check_digits(digits: Sequence[int]) -> tuple[int, ...]:
    """Validate a set of two or three distinct digits and return it as a tuple.

    Raises
    ------
    ValueError
        For a digit outside 0-9, the same digit twice, or fewer than two or
        more than three digits.
    """
    try:
        chosen = tuple(int(d) for d in digits)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"digits must be two or three whole numbers, got {digits!r}"
        ) from err
    unknown = [d for d in chosen if not 0 <= d <= 9]
    if unknown:
        raise ValueError(f"unknown digit(s) {unknown}: MNIST digits are 0 to 9")
    if len(set(chosen)) != len(chosen):
        raise ValueError(
            f"the same class twice in {list(chosen)}: a boundary needs two different digits"
        )
    if not 2 <= len(chosen) <= 3:
        raise ValueError(
            f"choose two or three digits (e.g. 4 9 or 3 5 8), got {list(chosen)}"
        )
    return chosen


def check_rule(rule: str) -> str:
    """Return ``rule`` if it is one of :data:`RULES`, else raise ``ValueError``."""
    if rule not in RULES:
        raise ValueError(
            f"unknown labelling rule {rule!r}: use one of {', '.join(RULES)}"
        )
    return rule


def check_amount(amount: int, available: int | None = None) -> int:
    """Return ``amount`` as an int if it is a non-negative count within ``available``."""
    if isinstance(amount, bool) or not float(amount).is_integer():
        raise ValueError(
            f"amount must be a whole number of synthetic digits, got {amount!r}"
        )
    amount = int(amount)
    if amount < 0:
        raise ValueError(f"amount must be 0 or more synthetic digits, got {amount}")
    if available is not None and amount > available:
        raise ValueError(
            f"amount {amount} is more than the {available} synthetic digits in the pool"
        )
    return amount


def _check_choice(value: str, options: tuple[str, ...], what: str) -> str:
    if value not in options:
        raise ValueError(f"unknown {what} {value!r}: use one of {', '.join(options)}")
    return value


# -------------------------------------------------------------------- the 2-D view


class _OrientedProjection:
    """A fitted 2-D projection whose axes are flipped so ``digits[0]`` sits low-left.

    PLS and PCA fix each axis only up to its sign; fixing the sign keeps every
    figure the same way round whatever the solver returns.
    """

    def __init__(self, projector: Any, signs: np.ndarray) -> None:
        self.projector = projector
        self.signs = signs

    def transform(self, pixels: np.ndarray) -> np.ndarray:
        out = self.projector.transform(pixels)
        out = out[0] if isinstance(out, tuple) else out
        return np.asarray(out, dtype=np.float64)[:, :2] * self.signs


@dataclass(frozen=True, eq=False)
class BoundaryProblem:
    """Real points of two or three digits in a fixed 2-D view.

    Attributes
    ----------
    digits : tuple of int
        The digits, in the order the figures colour them.
    train_xy, test_xy : numpy.ndarray
        ``(N, 2)`` coordinates of the real training and test digits.
    train_y, test_y : numpy.ndarray
        Their labels (digit values).
    projection : object, optional
        The frozen pixel-to-2-D map (``None`` for constructed 2-D problems).
    projection_name : str
        ``"pls"``, ``"pca"`` or ``"given"``.
    reference_pixels : numpy.ndarray, optional
        ``(N, 784)`` real training pixels, for the ``"nearest"`` labelling rule.
    """

    digits: tuple[int, ...]
    train_xy: np.ndarray
    train_y: np.ndarray
    test_xy: np.ndarray
    test_y: np.ndarray
    projection: Any = None
    projection_name: str = "given"
    reference_pixels: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_digits(self.digits)
        for name in ("train", "test"):
            xy, y = getattr(self, f"{name}_xy"), getattr(self, f"{name}_y")
            if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(y):
                raise ValueError(f"{name}_xy must be (N, 2) with one label per row")
            missing = set(self.digits) - set(np.unique(y).tolist())
            if missing:
                raise ValueError(
                    f"the {name} points have no examples of digit(s) {sorted(missing)}"
                )

    @classmethod
    def from_points(
        cls,
        digits: Sequence[int],
        train_xy: np.ndarray,
        train_y: np.ndarray,
        test_xy: np.ndarray,
        test_y: np.ndarray,
    ) -> BoundaryProblem:
        """Build a problem directly from 2-D points (for tests and teaching)."""
        return cls(
            check_digits(digits),
            np.asarray(train_xy, dtype=np.float64),
            np.asarray(train_y),
            np.asarray(test_xy, dtype=np.float64),
            np.asarray(test_y),
        )

    def embed(self, images: torch.Tensor | np.ndarray) -> np.ndarray:
        """Project ``(N, 28, 28)`` images into the problem's fixed 2-D view."""
        if self.projection is None:
            raise ValueError(
                "this problem was built from 2-D points; it has no pixel projection"
            )
        pixels = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        return self.projection.transform(pixels)

    def class_means(self) -> np.ndarray:
        """Return the mean 2-D position of each digit's real training points."""
        return np.stack(
            [self.train_xy[self.train_y == d].mean(axis=0) for d in self.digits]
        )

    def limits(self, pad: float = 0.12) -> tuple[float, float, float, float]:
        """Return fixed plot limits ``(x0, x1, y0, y1)`` from the real points only.

        Fixed limits keep every panel of a comparison in the same frame.
        """
        points = np.concatenate([self.train_xy, self.test_xy])
        low, high = np.percentile(points, [0.5, 99.5], axis=0)
        span = high - low
        return (
            low[0] - pad * span[0],
            high[0] + pad * span[0],
            low[1] - pad * span[1],
            high[1] + pad * span[1],
        )


def _flatten(data: MnistData, digits: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    mask = np.isin(data.labels.numpy(), digits)
    return data.images.numpy()[mask].reshape(-1, 28 * 28), data.labels.numpy()[mask]


def build_problem(
    train: MnistData,
    test: MnistData,
    digits: Sequence[int] = (4, 9),
    *,
    projection: str = "pls",
) -> BoundaryProblem:
    """Fit a 2-D view on real training images of ``digits`` and project train and test.

    Parameters
    ----------
    train, test : MnistData
        Real images. Only ``train`` is used to fit the projection.
    digits : sequence of int
        Two or three distinct digits, e.g. ``(4, 9)``.
    projection : {"pls", "pca"}
        ``"pls"``: partial least squares, the two pixel directions that vary
        most *with the label*; it keeps the digits apart, as a classifier
        would. ``"pca"``: the two directions of largest pixel variance,
        label-blind; confusable digits mostly overlap in it.

    Returns
    -------
    BoundaryProblem
    """
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.decomposition import PCA

    chosen = check_digits(digits)
    _check_choice(projection, PROJECTIONS, "projection")
    x_train, y_train = _flatten(train, chosen)
    x_test, y_test = _flatten(test, chosen)
    if projection == "pls":
        targets = (y_train[:, None] == np.array(chosen)[None, :]).astype(np.float64)
        projector = PLSRegression(n_components=2, scale=False).fit(x_train, targets)
    else:
        # The full SVD is deterministic, so no seed is needed.
        projector = PCA(n_components=2, svd_solver="full").fit(x_train)
    raw = _OrientedProjection(projector, np.ones(2))
    train_xy = raw.transform(x_train)
    first = train_xy[y_train == chosen[0]].mean(axis=0)
    second = train_xy[y_train == chosen[1]].mean(axis=0)
    signs = np.where(first <= second, 1.0, -1.0)
    oriented = _OrientedProjection(projector, signs)
    return BoundaryProblem(
        chosen,
        train_xy * signs,
        y_train,
        oriented.transform(x_test),
        y_test,
        projection=oriented,
        projection_name=projection,
        reference_pixels=x_train,
    )


# ------------------------------------------------------------------ the classifier


def fit_classifier(
    xy: np.ndarray, y: np.ndarray, *, model: str = "logistic", seed: int = 0
) -> Any:
    """Train a scikit-learn classifier on 2-D points.

    Parameters
    ----------
    xy : numpy.ndarray
        ``(N, 2)`` points.
    y : numpy.ndarray
        Their labels.
    model : {"logistic", "mlp"}
        ``"logistic"``: (multinomial) logistic regression, straight boundaries.
        ``"mlp"``: a one-hidden-layer network (32 units), curved boundaries.
    seed : int
        Seeds the network's initial weights (logistic regression has none).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    _check_choice(model, MODELS, "model")
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(y):
        raise ValueError(
            f"expected (N, 2) points with N labels, got {xy.shape} and {len(y)}"
        )
    if model == "logistic":
        classifier = LogisticRegression(C=1.0, max_iter=1000)
    else:
        classifier = MLPClassifier(
            hidden_layer_sizes=(32,), alpha=1e-3, max_iter=2000, random_state=seed
        )
    return classifier.fit(xy, np.asarray(y))


def probability_margin(classifier: Any, xy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return ``p(true label) - max p(other label)`` for each point, in ``[-1, 1]``.

    Positive values are correct predictions, and the larger the safer; negative
    values are errors. Unlike a signed distance, it works for any classifier
    with ``predict_proba``.
    """
    proba = classifier.predict_proba(xy)
    columns = np.searchsorted(classifier.classes_, y)
    if np.any(
        classifier.classes_[np.clip(columns, 0, len(classifier.classes_) - 1)] != y
    ):
        raise ValueError("some labels are not classes the classifier knows")
    rows = np.arange(len(y))
    true = proba[rows, columns]
    others = proba.copy()
    others[rows, columns] = -np.inf
    return true - others.max(axis=1)


def boundary_crossing(
    classifier: Any,
    start: np.ndarray,
    end: np.ndarray,
    first: int,
    resolution: int = 1001,
) -> float:
    """Where along the segment ``start -> end`` the classifier stops predicting ``first``.

    Returns a fraction in ``[0, 1]`` (0.5 is half-way), or ``nan`` if the
    prediction never changes along the segment.
    """
    t = np.linspace(0.0, 1.0, resolution)
    points = start[None, :] + t[:, None] * (end - start)[None, :]
    changed = np.flatnonzero(classifier.predict(points) != first)
    return float(t[changed[0]]) if len(changed) else float("nan")


# -------------------------------------------------------------- measures of shift


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
    """

    digits: tuple[int, ...]
    test_y: np.ndarray
    pred_before: np.ndarray
    pred_after: np.ndarray
    margin_before: np.ndarray
    margin_after: np.ndarray
    crossing_before: float
    crossing_after: float

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
        """Per-digit recall on real test points before adding synthetic data."""
        return self._recall(self.pred_before)

    @property
    def recall_after(self) -> dict[int, float]:
        """Per-digit recall on real test points after adding synthetic data."""
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
        """Mean change in probability margin on real test points (after minus before)."""
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
        )

    def as_dict(self) -> dict[str, float]:
        """Flat numbers for tables and the command line."""
        out = {
            "flip_share": self.flip_share,
            "flips": float(self.flipped.sum()),
            "accuracy_before": self.accuracy_before,
            "accuracy_after": self.accuracy_after,
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
        """Describe the shift in a few lines of plain text."""
        counts = sorted(self.flip_counts().items())
        flips = ", ".join(f"{n} from {a} to {b}" for (a, b), n in counts)
        lines = [
            f"real test digits whose predicted label flipped: {int(self.flipped.sum())} of "
            f"{len(self.test_y)} ({self.flip_share:.1%})"
            + (f": {flips}" if flips else ""),
            f"accuracy on real test digits: {self.accuracy_before:.1%} -> "
            f"{self.accuracy_after:.1%}",
        ]
        lines += [
            f"recall of {d}: {self.recall_before[d]:.1%} -> {self.recall_after[d]:.1%} "
            f"({100 * self.recall_change[d]:+.1f} points)"
            for d in self.digits
        ]
        lines.append(
            f"mean probability margin on real test digits: {self.margin_before.mean():.3f} -> "
            f"{self.margin_after.mean():.3f} ({self.margin_change:+.3f})"
        )
        a, b = self.digits[:2]
        lines.append(
            f"boundary on the line from the average {a} to the average {b}: "
            f"{_fmt_fraction(self.crossing_before)} -> {_fmt_fraction(self.crossing_after)} "
            "of the way"
        )
        return "\n".join(lines)


def _fmt_fraction(value: float) -> str:
    return "nowhere" if np.isnan(value) else f"{value:.0%}"


def shift_measures(before: Any, after: Any, problem: BoundaryProblem) -> ShiftMeasures:
    """Compare two classifiers on the real test points of ``problem``.

    Parameters
    ----------
    before, after : fitted scikit-learn classifiers
        Typically trained on real data only, and on real plus synthetic data.
    problem : BoundaryProblem
        Supplies the real test points and the class means for the crossing.
    """
    means = problem.class_means()
    first = problem.digits[0]
    return ShiftMeasures(
        digits=problem.digits,
        test_y=problem.test_y,
        pred_before=before.predict(problem.test_xy),
        pred_after=after.predict(problem.test_xy),
        margin_before=probability_margin(before, problem.test_xy, problem.test_y),
        margin_after=probability_margin(after, problem.test_xy, problem.test_y),
        crossing_before=boundary_crossing(before, means[0], means[1], first),
        crossing_after=boundary_crossing(after, means[0], means[1], first),
    )


# ------------------------------------------------------------- synthetic digits


@dataclass(frozen=True, eq=False)
class SyntheticPool:
    """Synthetic points, ordered so that any prefix is balanced across requests.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(N, 2)`` positions in the problem's view.
    requested : numpy.ndarray
        The digit each sample was asked to be.
    toward : numpy.ndarray
        The digit its label was blended toward.
    weight : numpy.ndarray
        The blend weight toward ``toward`` (0: pure request, 0.5: half-way).
    labels : dict of str to numpy.ndarray
        The label each rule in :data:`RULES` gives (rules that could not be
        applied, e.g. ``"judge"`` without a judge, are missing).
    images : numpy.ndarray, optional
        ``(N, 28, 28)`` generated images, if the pool came from a generator.
    """

    xy: np.ndarray
    requested: np.ndarray
    toward: np.ndarray
    weight: np.ndarray
    labels: dict[str, np.ndarray]
    images: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.xy)

    def labels_for(self, rule: str) -> np.ndarray:
        """Return the labels under ``rule``; raise ``ValueError`` if it is unavailable."""
        check_rule(rule)
        if rule not in self.labels:
            raise ValueError(
                f"the {rule!r} rule is not available for this pool "
                f"(it was built without {'a judge' if rule == 'judge' else 'reference images'})"
            )
        return self.labels[rule]

    def contested(self) -> np.ndarray:
        """Boolean mask: samples on whose label the available rules disagree."""
        stacked = np.stack(list(self.labels.values()))
        return np.any(stacked != stacked[0], axis=0)

    def agreement(self) -> dict[tuple[str, str], float]:
        """Share of samples on which each pair of available rules agrees."""
        names = [r for r in RULES if r in self.labels]
        return {
            (a, b): float(np.mean(self.labels[a] == self.labels[b]))
            for i, a in enumerate(names)
            for b in names[i + 1 :]
        }


def blend_plan(
    digits: Sequence[int], size: int, oddness: float, source: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide which digit each synthetic sample is asked for, and how odd it is.

    Requests cycle through ``digits`` (or use only ``source``) so that any
    prefix of the pool is balanced; each is blended toward the next digit of
    the set with weight ``oddness``.

    Returns
    -------
    (requested, toward, weight) : tuple of numpy.ndarray
    """
    chosen = check_digits(digits)
    check_amount(size)
    if not 0.0 <= oddness <= 0.5:
        raise ValueError(
            f"oddness must be between 0 (a plain request) and 0.5 (half-way to another digit), "
            f"got {oddness}"
        )
    if source is not None and source not in chosen:
        raise ValueError(f"source digit {source} is not one of {list(chosen)}")
    order = [source] if source is not None else list(chosen)
    requested = np.array([order[i % len(order)] for i in range(size)], dtype=np.int64)
    nxt = {d: chosen[(chosen.index(d) + 1) % len(chosen)] for d in chosen}
    toward = np.array([nxt[int(d)] for d in requested], dtype=np.int64)
    return requested, toward, np.full(size, float(oddness))


def judge_labels(
    judge: Judge, images: torch.Tensor | np.ndarray, digits: Sequence[int]
) -> np.ndarray:
    """Return the judge's reading of each image, restricted to ``digits``.

    The 2-D classifier only knows these digits, so the judge is asked which of
    *them* an image most resembles (the highest score among their columns).
    ``judge`` maps ``(N, 28, 28)`` images to ``(N, 10)`` scores (logits or
    probabilities).
    """
    chosen = list(check_digits(digits))
    with torch.no_grad():
        scores = judge(torch.as_tensor(np.asarray(images, dtype=np.float32)))
    scores = np.asarray(scores.detach().cpu() if torch.is_tensor(scores) else scores)
    if scores.ndim != 2 or scores.shape[1] < 10:
        raise ValueError(
            f"the judge must return (N, 10) scores, got shape {scores.shape}"
        )
    return np.asarray(chosen)[scores[:, chosen].argmax(axis=1)]


def nearest_labels(
    images: torch.Tensor | np.ndarray,
    reference_pixels: np.ndarray,
    reference_labels: np.ndarray,
) -> np.ndarray:
    """Return the label of each image's nearest real training image (pixel space)."""
    from sklearn.neighbors import KNeighborsClassifier

    pixels = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    knn = KNeighborsClassifier(n_neighbors=1).fit(reference_pixels, reference_labels)
    return knn.predict(pixels)


def assign_labels(
    requested: np.ndarray,
    toward: np.ndarray,
    weight: np.ndarray,
    digits: Sequence[int],
    *,
    images: torch.Tensor | np.ndarray | None = None,
    judge: Judge | None = None,
    reference_pixels: np.ndarray | None = None,
    reference_labels: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Label synthetic samples under every rule that can be applied.

    ``"conditioning"`` needs only the request: the dominant label of the blend
    (the requested digit when the blend is exactly half-way). ``"judge"`` needs
    ``images`` and ``judge``; ``"nearest"`` needs ``images`` and the real
    reference pixels and labels.
    """
    check_digits(digits)
    labels = {"conditioning": np.where(np.asarray(weight) > 0.5, toward, requested)}
    if images is not None and judge is not None:
        labels["judge"] = judge_labels(judge, images, digits)
    if (
        images is not None
        and reference_pixels is not None
        and reference_labels is not None
    ):
        labels["nearest"] = nearest_labels(images, reference_pixels, reference_labels)
    return labels


def make_pool(
    generator: torch.nn.Module,
    problem: BoundaryProblem,
    *,
    size: int = 400,
    oddness: float = 0.3,
    noise_scale: float = 1.0,
    seed: int = 0,
    judge: Judge | None = None,
    source: int | None = None,
) -> SyntheticPool:
    """Generate synthetic digits for ``problem`` and label them under every rule.

    Parameters
    ----------
    generator : torch.nn.Module
        A conditional generator from :mod:`synthbook.gan`.
    problem : BoundaryProblem
        Supplies the digits, the 2-D view and the real reference images.
    size : int
        How many samples (take fewer later with ``amount``).
    oddness : float
        Blend weight toward another digit of the set, 0 to 0.5.
    noise_scale : float
        Multiplies the generator's noise; above 1 gives rarer, stranger digits.
    seed : int
        Seeds the noise.
    judge : callable, optional
        Images to ``(N, 10)`` scores; enables the ``"judge"`` rule.
    source : int, optional
        Ask only for this digit (default: all digits of the set in turn).
    """
    from synthbook import gan

    requested, toward, weight = blend_plan(problem.digits, size, oddness, source)
    soft = torch.zeros(size, 10)
    rows = torch.arange(size)
    soft[rows, torch.as_tensor(requested)] = torch.as_tensor(
        1.0 - weight, dtype=torch.float32
    )
    soft[rows, torch.as_tensor(toward)] += torch.as_tensor(weight, dtype=torch.float32)
    with torch.no_grad():
        images = gan.generate(generator, soft, seed=seed, noise_scale=noise_scale)
    images_np = images.detach().cpu().numpy().astype(np.float32)
    labels = assign_labels(
        requested,
        toward,
        weight,
        problem.digits,
        images=images_np,
        judge=judge,
        reference_pixels=problem.reference_pixels,
        reference_labels=problem.train_y,
    )
    return SyntheticPool(
        problem.embed(images_np), requested, toward, weight, labels, images_np
    )


# ------------------------------------------------------------------- conditions


@dataclass(frozen=True, eq=False)
class BoundaryResult:
    """One condition: the classifier before and after adding synthetic points."""

    problem: BoundaryProblem
    before: Any
    after: Any
    synthetic_xy: np.ndarray
    synthetic_y: np.ndarray
    contested: np.ndarray
    rule: str
    model: str
    shift: ShiftMeasures

    @property
    def amount(self) -> int:
        """How many synthetic points were added."""
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
) -> BoundaryResult:
    """Train on real points, then on real plus ``amount`` synthetic points; compare.

    Parameters
    ----------
    problem : BoundaryProblem
    pool : SyntheticPool or None
        Where the synthetic points come from (``None`` only with ``amount=0``).
    amount : int
        How many synthetic points to add (the first ``amount`` of the pool).
    rule : str
        Which labelling rule labels them (:data:`RULES`).
    model : str
        Which classifier (:data:`MODELS`).
    seed : int
        Seed for the classifier.
    before : fitted classifier, optional
        Reuse an already trained real-only classifier.
    """
    check_rule(rule)
    _check_choice(model, MODELS, "model")
    amount = check_amount(amount, None if pool is None else len(pool))
    if pool is None and amount > 0:
        raise ValueError("amount > 0 needs a pool of synthetic points")
    if before is None:
        before = fit_classifier(
            problem.train_xy, problem.train_y, model=model, seed=seed
        )
    if amount == 0:
        synth_xy = np.empty((0, 2))
        synth_y = np.empty(0, dtype=problem.train_y.dtype)
        contested = np.zeros(0, dtype=bool)
        after = before
    else:
        synth_xy = pool.xy[:amount]
        synth_y = pool.labels_for(rule)[:amount]
        stray = set(np.unique(synth_y).tolist()) - set(problem.digits)
        if stray:
            raise ValueError(
                f"synthetic labels {sorted(stray)} are not among {problem.digits}"
            )
        contested = pool.contested()[:amount]
        after = fit_classifier(
            np.concatenate([problem.train_xy, synth_xy]),
            np.concatenate([problem.train_y, synth_y]),
            model=model,
            seed=seed,
        )
    shift = shift_measures(before, after, problem)
    return BoundaryResult(
        problem, before, after, synth_xy, synth_y, contested, rule, model, shift
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
        real training, real test and synthetic points lie in the region
        (``real_train``, ``real_test``, ``synthetic``), with the totals
        (``n_real_train``, ``n_real_test``, ``n_synthetic``).
    """
    problem = result.problem
    xx, yy = _grid(problem, resolution)
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

    ``pools`` maps an oddness value to the pool generated with it.
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


# ------------------------------------------------------------------------ figures


def class_colours(digits: Sequence[int]) -> dict[int, str]:
    """Okabe-Ito colour of each digit of the set, in order."""
    return dict(zip(check_digits(digits), _CLASS_COLOURS, strict=False))


def _light(colour: str, amount: float = 0.72) -> tuple[float, float, float]:
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _grid(problem: BoundaryProblem, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = problem.limits()
    return np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))


def draw_regions(
    ax: Axes,
    classifier: Any,
    problem: BoundaryProblem,
    *,
    synthetic_xy: np.ndarray | None = None,
    synthetic_y: np.ndarray | None = None,
    contested: np.ndarray | None = None,
    flipped: np.ndarray | None = None,
    reference: Any = None,
    title: str | None = None,
    resolution: int = 200,
    show_real: bool = True,
) -> Axes:
    """Draw a 2-D classifier's decision regions with real and synthetic points.

    Regions are filled in a light tint of each digit's colour. Real training
    digits are small circles; synthetic digits are triangles, or crosses (``X``)
    when the labelling rules disagree about them; real test digits whose
    predicted label flipped are large black-edged stars in the colour of their
    *new* label. ``reference`` (e.g. the real-only classifier)
    is drawn as a dashed line so the move is visible.
    """
    from sklearn.inspection import DecisionBoundaryDisplay

    digits = problem.digits
    colours = class_colours(digits)
    xx, yy = _grid(problem, resolution)
    grid_points = np.c_[xx.ravel(), yy.ravel()]

    def region_index(model: Any) -> np.ndarray:
        # Index of the predicted digit in `digits`, so colours follow the digit set.
        lookup = np.full(10, -1)
        lookup[list(digits)] = np.arange(len(digits))
        return lookup[model.predict(grid_points).astype(int)].reshape(xx.shape)

    index = region_index(classifier)
    light = [_light(colours[d]) for d in digits]
    levels = np.arange(len(digits) + 1) - 0.5
    display = DecisionBoundaryDisplay(
        xx0=xx,
        xx1=yy,
        n_classes=len(digits),
        response=index,
        multiclass_colors=light,
        xlabel="view axis 1",
        ylabel="view axis 2",
    )
    # scikit-learn colours binary problems with `cmap`, multiclass ones with
    # `multiclass_colors`; give both the same light tints.
    extra = {"cmap": ListedColormap(light)} if len(digits) == 2 else {}
    display.plot(ax=ax, plot_method="contourf", levels=levels, **extra)
    ax.contour(xx, yy, index, levels=levels[1:-1], colors="black", linewidths=1.4)
    if reference is not None:
        ax.contour(
            xx,
            yy,
            region_index(reference),
            levels=levels[1:-1],
            colors="black",
            linewidths=1.2,
            linestyles="--",
        )
    if show_real:
        for d in digits:
            pts = problem.train_xy[problem.train_y == d]
            ax.scatter(
                pts[:, 0],
                pts[:, 1],
                s=9,
                marker="o",
                color=colours[d],
                alpha=0.55,
                linewidths=0,
                zorder=2,
            )
    if synthetic_xy is not None and len(synthetic_xy):
        odd = np.zeros(len(synthetic_xy), bool) if contested is None else contested
        for d in digits:
            plain = (synthetic_y == d) & ~odd
            ax.scatter(
                synthetic_xy[plain, 0],
                synthetic_xy[plain, 1],
                s=26,
                marker="^",
                color=colours[d],
                edgecolors="white",
                linewidths=0.4,
                zorder=3,
            )
            disputed = (synthetic_y == d) & odd
            ax.scatter(
                synthetic_xy[disputed, 0],
                synthetic_xy[disputed, 1],
                s=40,
                marker="X",
                color=colours[d],
                edgecolors="white",
                linewidths=0.5,
                zorder=4,
            )
    if flipped is not None and np.any(flipped):
        new = classifier.predict(problem.test_xy[flipped])
        ax.scatter(
            problem.test_xy[flipped, 0],
            problem.test_xy[flipped, 1],
            s=170,
            marker="*",
            c=[colours[int(d)] for d in new],
            edgecolors="black",
            linewidths=1.0,
            zorder=5,
        )
    x0, x1, y0, y1 = problem.limits()
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def legend_handles(digits: Sequence[int], *, before_line: bool = True) -> list[Line2D]:
    """Legend entries for :func:`draw_regions` (markers and line styles)."""
    colours = class_colours(digits)
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color=colours[d],
            markersize=5,
            label=f"real {d}",
        )
        for d in colours
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="^",
            linestyle="",
            color=colours[d],
            markersize=7,
            markeredgecolor="white",
            label=f"synthetic, labelled {d}",
        )
        for d in colours
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="X",
            linestyle="",
            color="grey",
            markersize=8,
            markeredgecolor="grey",
            label="synthetic, rules disagree",
        )
    )
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            color="grey",
            markersize=13,
            markeredgecolor="black",
            label="real test digit that flipped",
        )
    )
    handles.append(Line2D([], [], color="black", linewidth=1.4, label="boundary"))
    if before_line:
        handles.append(
            Line2D(
                [],
                [],
                color="black",
                linewidth=1.2,
                linestyle="--",
                label="boundary, real data only",
            )
        )
    return handles


def describe(result: BoundaryResult) -> str:
    """Alt text for :func:`render_boundary`, computed from the result."""
    p, s = result.problem, result.shift
    names = [str(d) for d in p.digits]
    digits = ", ".join(names[:-1]) + " and " + names[-1]
    model = {"logistic": "a logistic-regression", "mlp": "a small neural-network"}[
        result.model
    ]
    if result.amount == 0:
        change = "No synthetic digits were added, so the boundary does not move."
    else:
        change = (
            f"Right: the same after adding {result.amount} synthetic digits labelled by the "
            f"{result.rule} rule, drawn as triangles, with the old boundary dashed; "
            f"{int(s.flipped.sum())} of {len(s.test_y)} real test digits "
            f"({s.flip_share:.0%}) change predicted label, drawn as stars."
        )
    return (
        f"Two decision-region plots of {model} classifier for the digits {digits} in a "
        f"fixed 2-D {p.projection_name.upper()} view. Left: trained on {len(p.train_y)} real "
        f"digits only, drawn as dots in each digit's colour. {change} Accuracy on real test "
        f"digits goes from {s.accuracy_before:.0%} to {s.accuracy_after:.0%}."
    )


def render_boundary(
    problem: BoundaryProblem,
    pool: SyntheticPool | None,
    *,
    amount: int = 200,
    rule: str = "conditioning",
    model: str = "logistic",
    seed: int = 0,
    resolution: int = 160,
) -> Figure:
    """Draw one condition: real-only classifier (left) and with synthetic data (right).

    A pure function of its arguments (no widget state): tests call it directly
    and the panel only wires controls to it. The numbers are in the title.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.synthbook_result`` set to the :class:`BoundaryResult` and
        ``fig.synthbook_alt`` to its alt text.
    """
    result = run_condition(
        problem, pool, amount=amount, rule=rule, model=model, seed=seed
    )
    shift = result.shift
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(9.2, 4.3), sharex=True, sharey=True
    )
    draw_regions(
        left,
        result.before,
        problem,
        resolution=resolution,
        title=f"real digits only: accuracy {shift.accuracy_before:.1%}",
    )
    draw_regions(
        right,
        result.after,
        problem,
        synthetic_xy=result.synthetic_xy,
        synthetic_y=result.synthetic_y,
        contested=result.contested,
        flipped=shift.flipped,
        reference=result.before,
        resolution=resolution,
        title=f"+ {amount} synthetic, rule '{rule}': accuracy {shift.accuracy_after:.1%}",
    )
    fig.legend(
        handles=legend_handles(problem.digits),
        loc="lower center",
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(
        f"{shift.flipped.sum()} of {len(shift.test_y)} real test digits flip "
        f"({shift.flip_share:.1%})",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.synthbook_result = result  # type: ignore[attr-defined]
    fig.synthbook_alt = describe(result)  # type: ignore[attr-defined]
    return fig


def small_multiples(
    problem: BoundaryProblem,
    pool: SyntheticPool,
    *,
    amounts: Sequence[int] = (0, 100, 200, 400),
    rules: Sequence[str] = RULES,
    model: str = "logistic",
    seed: int = 0,
    resolution: int = 120,
) -> Figure:
    """Draw decision regions in a grid: one row per labelling rule, one column per amount."""
    for rule in rules:
        check_rule(rule)
    before = fit_classifier(problem.train_xy, problem.train_y, model=model, seed=seed)
    fig, axes = plt.subplots(
        len(rules),
        len(amounts),
        figsize=(2.3 * len(amounts) + 0.4, 2.3 * len(rules) + 1.0),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for row, rule in enumerate(rules):
        for col, amount in enumerate(amounts):
            result = run_condition(
                problem,
                pool,
                amount=amount,
                rule=rule,
                model=model,
                seed=seed,
                before=before,
            )
            ax = axes[row, col]
            draw_regions(
                ax,
                result.after,
                problem,
                synthetic_xy=result.synthetic_xy,
                synthetic_y=result.synthetic_y,
                contested=result.contested,
                flipped=result.shift.flipped,
                reference=before,
                resolution=resolution,
                show_real=False,
                title=f"+{amount}: {result.shift.flip_share:.0%} flip",
            )
            ax.set(xlabel="", ylabel="")
            if col == 0:
                ax.set_ylabel(rule, fontsize=10)
    fig.legend(
        handles=legend_handles(problem.digits)[2:],
        loc="lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def plot_sweep(rows: Sequence[Mapping[str, float | str]]) -> Figure:
    """Plot a :func:`sweep`: flip share (top) and accuracy change (bottom) against amount.

    One column per labelling rule, one line per oddness (colour and marker).
    """
    rules = list(dict.fromkeys(str(r["rule"]) for r in rows))
    odds = sorted({float(r["oddness"]) for r in rows})
    markers = ("o", "s", "^", "D", "v")
    fig, axes = plt.subplots(
        2,
        len(rules),
        figsize=(3.0 * len(rules) + 0.6, 5.0),
        sharex=True,
        sharey="row",
        squeeze=False,
    )
    for col, rule in enumerate(rules):
        for i, odd in enumerate(odds):
            sel = sorted(
                (r for r in rows if r["rule"] == rule and float(r["oddness"]) == odd),
                key=lambda r: r["amount"],
            )
            amounts = [r["amount"] for r in sel]
            style = {
                "color": _LINE_COLOURS[i % len(_LINE_COLOURS)],
                "marker": markers[i % len(markers)],
                "label": f"oddness {odd:g}",
            }
            axes[0, col].plot(
                amounts, [100 * float(r["flip_share"]) for r in sel], **style
            )
            change = [
                100 * (float(r["accuracy_after"]) - float(r["accuracy_before"]))
                for r in sel
            ]
            axes[1, col].plot(amounts, change, **style)
        axes[0, col].set_title(f"labelled by {rule}", fontsize=10)
        axes[1, col].axhline(0, color="grey", linewidth=0.8, linestyle=":")
        axes[1, col].set_xlabel("synthetic digits added")
    axes[0, 0].set_ylabel("real test digits\nthat flip (%)")
    axes[1, 0].set_ylabel("accuracy change\n(percentage points)")
    axes[0, -1].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def figure_html(fig: Figure, alt: str, *, dpi: int = 80) -> str:
    """Encode a figure as an ``<img>`` tag with alt text, and close it."""
    if not alt.strip():
        raise ValueError("alt text must describe the image; it cannot be empty")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


# ------------------------------------------------------------------------ widget


def boundary_panel(
    train: MnistData,
    test: MnistData,
    generator: torch.nn.Module,
    *,
    judge: Judge | None = None,
    digits: Sequence[int] = (4, 9),
    amount: int = 200,
    oddness: float = 0.3,
    rule: str = "conditioning",
    first_only: bool = True,
    pool_size: int = 400,
    seed: int = 0,
):
    """Return an ipywidgets panel: digit set, requests, amount, oddness, rule, model.

    ``first_only`` asks the generator only for the first digit of the set (each
    blended toward the next); otherwise it asks for every digit in turn.

    The figure is an ``<img>`` with alt text inside an ``ipywidgets.HTML``, redrawn
    in place by :func:`render_boundary` whenever a control changes.
    """
    import ipywidgets as widgets

    problems: dict[tuple[int, ...], BoundaryProblem] = {}
    pools: dict[tuple[tuple[int, ...], float, bool], SyntheticPool] = {}

    def get_pool(
        chosen: tuple[int, ...], odd: float, first: bool
    ) -> tuple[BoundaryProblem, SyntheticPool]:
        # Projections and pools are cheap but not free: keep each one once made.
        if chosen not in problems:
            problems[chosen] = build_problem(train, test, chosen)
        key = (chosen, round(odd, 3), first)
        if key not in pools:
            pools[key] = make_pool(
                generator,
                problems[chosen],
                size=pool_size,
                oddness=odd,
                seed=seed,
                judge=judge,
                source=chosen[0] if first else None,
            )
        return problems[chosen], pools[key]

    style = {"description_width": "110px"}
    sets = (
        list(CONFUSABLE)
        if tuple(digits) in CONFUSABLE
        else [tuple(digits), *CONFUSABLE]
    )
    digit_box = widgets.Dropdown(
        options=[(" / ".join(map(str, s)), s) for s in sets],
        value=tuple(digits),
        description="digits",
        style=style,
    )
    source_box = widgets.Dropdown(
        options=[("first digit only", True), ("every digit", False)],
        value=first_only,
        description="ask for",
        style=style,
    )
    amount_slider = widgets.IntSlider(
        value=amount,
        min=0,
        max=pool_size,
        step=25,
        description="synthetic added",
        style=style,
    )
    odd_slider = widgets.FloatSlider(
        value=oddness,
        min=0.0,
        max=0.5,
        step=0.05,
        description="oddness (blend)",
        style=style,
    )
    rules = [r for r in RULES if r != "judge" or judge is not None]
    rule_box = widgets.ToggleButtons(
        options=rules, value=rule, description="labelled by", style=style
    )
    model_box = widgets.ToggleButtons(
        options=list(MODELS), value="logistic", description="classifier", style=style
    )
    output = widgets.HTML()
    numbers = widgets.HTML()

    def redraw(_change: object = None) -> None:
        problem, pool = get_pool(digit_box.value, odd_slider.value, source_box.value)
        fig = render_boundary(
            problem,
            pool,
            amount=amount_slider.value,
            rule=rule_box.value,
            model=model_box.value,
            seed=seed,
        )
        alt = fig.synthbook_alt  # type: ignore[attr-defined]
        summary = fig.synthbook_result.shift.summary()  # type: ignore[attr-defined]
        output.value = figure_html(fig, alt)
        numbers.value = "<pre>" + html.escape(summary) + "</pre>"

    controls = [digit_box, source_box, amount_slider, odd_slider, rule_box, model_box]
    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.VBox(controls), output, numbers])
