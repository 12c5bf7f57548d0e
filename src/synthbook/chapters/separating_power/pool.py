"""Digits to add: synthetic ones and their labelling rules, and real controls.

:func:`make_pool` asks a conditional generator for synthetic digits, made "odd"
by blending the requested label toward another digit, and :func:`assign_labels`
gives each one a label under every labelling rule (:data:`RULES`): someone has
to decide what an in-between digit *is*.

To tell the effect of *synthetic* digits from the effect of *more digits of one
class*, the same experiment adds real digits instead: :func:`real_pool` (real
images the classifier never had, e.g. the judge split's) and
:func:`oversampled_pool` (copies of the classifier's own training digits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier

from synthbook import gan
from synthbook.chapters.separating_power.geometry import (
    BoundaryProblem,
    check_amount,
    check_digits,
)

#: How an ambiguous synthetic digit gets its label. ``"conditioning"``: the label
#: the generator was asked for (the dominant one in a blend); ``"judge"``: what
#: the independent judge classifier reads; ``"nearest"``: the label of the most
#: similar real training digit (1-nearest neighbour in pixel space).
RULES: tuple[str, ...] = ("conditioning", "judge", "nearest")

Judge = Callable[[torch.Tensor], Any]


def check_rule(rule: str) -> str:
    """Return ``rule`` if it is one of :data:`RULES`, else raise ``ValueError``."""
    if rule not in RULES:
        raise ValueError(
            f"unknown labelling rule {rule!r}: use one of {', '.join(RULES)}"
        )
    return rule


@dataclass(frozen=True, eq=False)
class SyntheticPool:
    """Points to add, ordered so that any prefix is balanced across requests.

    Despite the name, a pool may hold real points (see :func:`real_pool`);
    ``provenance`` says which.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(N, 2)`` positions in the problem's view.
    requested : numpy.ndarray
        The digit each sample was asked to be (for real digits: their label).
    toward : numpy.ndarray
        The digit its label was blended toward.
    weight : numpy.ndarray
        The blend weight toward ``toward`` (0: pure request, 0.5: half-way).
    labels : dict of str to numpy.ndarray
        The label each rule in :data:`RULES` gives (rules that could not be
        applied, e.g. ``"judge"`` without a judge, are missing).
    images : numpy.ndarray, optional
        ``(N, 28, 28)`` images, if the pool came from images.
    provenance : str
        ``"synthetic"`` (generated) or ``"real"`` (written by people).
    """

    xy: np.ndarray
    requested: np.ndarray
    toward: np.ndarray
    weight: np.ndarray
    labels: dict[str, np.ndarray]
    images: np.ndarray | None = field(default=None, repr=False)
    provenance: str = "synthetic"

    def __post_init__(self) -> None:
        if self.provenance not in ("synthetic", "real"):
            raise ValueError(
                f"provenance must be 'synthetic' or 'real', got {self.provenance!r}"
            )
        if not np.all(np.isfinite(self.xy)):
            raise ValueError("the pool's xy holds NaN or infinite coordinates")

    def __len__(self) -> int:
        return len(self.xy)

    def labels_for(self, rule: str) -> np.ndarray:
        """Return the labels under ``rule``; raise ``ValueError`` if unavailable."""
        check_rule(rule)
        if rule not in self.labels:
            missing = "a judge" if rule == "judge" else "reference images"
            raise ValueError(
                f"the {rule!r} rule is not available for this pool "
                f"(it was built without {missing})"
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
    if not 0.0 <= float(oddness) <= 0.5:  # also refuses NaN
        raise ValueError(
            "oddness must be between 0 (a plain request) and 0.5 (half-way to "
            f"another digit), got {oddness}"
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


def points_pool(
    xy: np.ndarray,
    y: np.ndarray,
    *,
    images: np.ndarray | None = None,
    provenance: str = "real",
) -> SyntheticPool:
    """Return labelled 2-D points as a pool, with the same label under every rule.

    For real digits nobody has to decide what they are: every rule gives the
    label they came with.
    """
    xy = np.asarray(xy, dtype=np.float64)
    y = np.asarray(y)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(y):
        raise ValueError(
            f"expected (N, 2) points with N labels, got {xy.shape} and {len(y)}"
        )
    labels = {rule: y for rule in RULES}
    return SyntheticPool(
        xy, y, y, np.zeros(len(y)), labels, images, provenance=provenance
    )


def real_pool(
    problem: BoundaryProblem,
    images: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray,
    *,
    size: int | None = None,
    seed: int = 0,
) -> SyntheticPool:
    """Real digits the classifier never had, as a pool of points to add.

    Parameters
    ----------
    problem : BoundaryProblem
        Supplies the view the images are projected into.
    images, labels : array-like
        Real ``(N, 28, 28)`` images of one of the problem's digits (e.g. the
        judge split's 4s), and their labels.
    size : int, optional
        Keep this many (default: all), drawn in a random order seeded by
        ``seed``, so that any prefix is a random sample.

    Raises
    ------
    ValueError
        If there are fewer images than ``size``, or labels outside the problem.
    """
    images_np = np.asarray(images, dtype=np.float32)
    labels_np = np.asarray(labels)
    if len(images_np) != len(labels_np):
        raise ValueError(
            f"{len(images_np)} images but {len(labels_np)} labels: give one per image"
        )
    stray = set(np.unique(labels_np).tolist()) - set(problem.digits)
    if stray:
        raise ValueError(f"labels {sorted(stray)} are not among {problem.digits}")
    size = len(images_np) if size is None else check_amount(size, len(images_np))
    order = np.random.default_rng(seed).permutation(len(images_np))[:size]
    chosen = images_np[order]
    return points_pool(problem.embed(chosen), labels_np[order], images=chosen)


def oversampled_pool(
    xy: np.ndarray, y: np.ndarray, digit: int, *, size: int, seed: int = 0
) -> SyntheticPool:
    """Return copies of real training points of ``digit``, drawn with replacement.

    Oversampling adds no new information, only weight: it is the control for
    "the line moved because there are more of this class".
    """
    candidates = np.flatnonzero(np.asarray(y) == digit)
    if len(candidates) == 0:
        raise ValueError(f"there are no training points of digit {digit} to copy")
    size = check_amount(size)
    picks = np.random.default_rng(seed).choice(candidates, size, replace=True)
    return points_pool(np.asarray(xy)[picks], np.full(size, digit))
