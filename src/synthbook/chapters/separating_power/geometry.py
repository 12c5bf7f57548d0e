"""The 2-D view, the classifier trained in it, and where its boundary lies.

Everything happens in a fixed 2-D view of two or three confusable digits.
:func:`build_problem` projects the real **train** and **test** images to two
dimensions with a map fitted on real training images only and then frozen, so
every condition is drawn in the same coordinates. The classifier is trained *in*
that view (:func:`fit_classifier`), so the coloured regions of a plot are
exactly its regions, not an approximation of a high-dimensional one.

The functions here work on plain 2-D arrays, so tests can check them on
constructed point clouds whose answer is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier

from synthbook import validate
from synthbook.data import MnistData

#: Classifiers trained in the 2-D view.
MODELS: tuple[str, ...] = ("logistic", "mlp")
#: 2-D views: partial least squares (supervised, linear) or PCA (unsupervised).
PROJECTIONS: tuple[str, ...] = ("pls", "pca")
#: Confusable digit sets offered by the live panel.
CONFUSABLE: tuple[tuple[int, ...], ...] = ((4, 9), (3, 5), (1, 7), (3, 5, 8))


# --------------------------------------------------------------------------- checks


def check_digits(digits: Sequence[int]) -> tuple[int, ...]:
    """Validate a set of two or three distinct digits and return it as a tuple.

    Raises
    ------
    TypeError
        For a string (``"49"``) or anything but whole numbers.
    ValueError
        For a digit outside 0-9, the same digit twice, or fewer than two or
        more than three digits.
    """
    chosen = validate.check_digits("digits", digits, unique=False)
    if len(set(chosen)) != len(chosen):
        raise ValueError(
            f"the same class twice in {list(chosen)}: "
            "a boundary needs two different digits"
        )
    if not 2 <= len(chosen) <= 3:
        raise ValueError(
            f"choose two or three digits (e.g. 4 9 or 3 5 8), got {list(chosen)}"
        )
    return chosen


def check_amount(amount: int, available: int | None = None) -> int:
    """Return ``amount`` as an int if it is a count from 0 to ``available``."""
    if isinstance(amount, bool) or not float(amount).is_integer():
        raise ValueError(
            f"amount must be a whole number of added digits, got {amount!r}"
        )
    amount = int(amount)
    if amount < 0:
        raise ValueError(f"amount must be 0 or more added digits, got {amount}")
    if available is not None and amount > available:
        raise ValueError(
            f"amount {amount} is more than the {available} digits in the pool; "
            "ask for fewer or make a larger pool"
        )
    return amount


def check_choice(value: str, options: tuple[str, ...], what: str) -> str:
    """Return ``value`` if it is one of ``options``, else say which are accepted."""
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
            if not np.all(np.isfinite(xy)):
                raise ValueError(f"{name}_xy holds NaN or infinite coordinates")
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

    def with_train(self, index: np.ndarray) -> BoundaryProblem:
        """Return the same view and test points with only training rows ``index``."""
        index = np.asarray(index)
        pixels = None if self.reference_pixels is None else self.reference_pixels[index]
        return BoundaryProblem(
            self.digits,
            self.train_xy[index],
            self.train_y[index],
            self.test_xy,
            self.test_y,
            self.projection,
            self.projection_name,
            pixels,
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


def pixels_of(data: MnistData, digits: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``(N, 784)`` pixels and labels of the images of ``digits``."""
    mask = np.isin(data.labels.numpy(), tuple(digits))
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
    chosen = check_digits(digits)
    check_choice(projection, PROJECTIONS, "projection")
    x_train, y_train = pixels_of(train, chosen)
    x_test, y_test = pixels_of(test, chosen)
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
    check_choice(model, MODELS, "model")
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(y):
        raise ValueError(
            f"expected (N, 2) points with N labels, got {xy.shape} and {len(y)}"
        )
    if not np.all(np.isfinite(xy)):
        raise ValueError("xy holds NaN or infinite coordinates; remove those points")
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


def separation_auc(classifier: Any, xy: np.ndarray, y: np.ndarray) -> float:
    """Threshold-free separating power of a two-digit classifier: ROC AUC.

    The probability that a random real point of the second class gets a higher
    score for that class than a random point of the first. Moving the line
    parallel to itself (more of one class, say) leaves it unchanged; only a
    change in the *direction* of the cut, or in its shape, changes it. For
    three digits, the mean one-vs-rest AUC.
    """
    proba = classifier.predict_proba(xy)
    if proba.shape[1] == 2:
        return float(roc_auc_score(y == classifier.classes_[1], proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", labels=classifier.classes_))


def boundary_crossing(
    classifier: Any,
    start: np.ndarray,
    end: np.ndarray,
    first: int,
    resolution: int = 1001,
) -> float:
    """Return where along ``start -> end`` the classifier stops predicting ``first``.

    Returns a fraction in ``[0, 1]`` (0.5 is half-way), or ``nan`` if the
    prediction never changes along the segment.
    """
    t = np.linspace(0.0, 1.0, resolution)
    points = start[None, :] + t[:, None] * (end - start)[None, :]
    changed = np.flatnonzero(classifier.predict(points) != first)
    return float(t[changed[0]]) if len(changed) else float("nan")


def decision_grid(
    problem: BoundaryProblem, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return a ``resolution x resolution`` mesh over the problem's plot limits."""
    x0, x1, y0, y1 = problem.limits()
    return np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
