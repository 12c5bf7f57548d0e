"""Answer checks for the exercise notebooks.

Every ``check_*`` function takes the *name* of the learner's answer (as it
should appear in a message), the answer itself and what to compare it with. On
success it prints one short line starting with ``✓``; on failure it raises an
:class:`AssertionError` whose message says what was expected, what was found
and, when given, a hint. Answers may be Python numbers, NumPy arrays or PyTorch
tensors.

An answer that is still a placeholder (``...``, ``None`` or ``NotImplemented``)
fails with a message that says the task has not been answered yet, not with a
confusing comparison error.

The second half of the module holds *reference computations*: the expected
values that the check cells compare with are computed from the data by these
functions, along a different route from the one the solutions take (mostly in
PyTorch where the solutions use NumPy), so a check never echoes a number typed
in by the author.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "CheckError",
    "check_close",
    "check_equal",
    "check_shape",
    "check_in_range",
    "check_probability",
    "check_choice",
    "expected_class_means",
    "expected_closest_pair",
    "expected_ink_tail",
    "expected_gan_test_per_class",
    "expected_augmented_recall",
    "expected_auc",
    "expected_distance_attack_auc",
    "expected_closer_share",
    "expected_tstr_accuracy",
    "expected_generated_oddness",
    "expected_rank_correlation",
    "expected_pruning_sparsity",
    "expected_pruned_predictions",
    "expected_accuracy_and_recalls",
    "expected_clipped_gradients",
]

_PLACEHOLDERS = (Ellipsis, None, NotImplemented)


class CheckError(AssertionError):
    """An answer did not pass its check (an :class:`AssertionError`)."""


def _fail(message: str, hint: str | None) -> None:
    if hint:
        message = f"{message}\nHint: {hint}"
    raise CheckError(message)


def _ok(message: str) -> None:
    print(f"✓ {message}")


def _require_answer(name: str, value: Any) -> None:
    if any(value is p for p in _PLACEHOLDERS):
        raise CheckError(
            f"{name} has no answer yet (it is {value!r}). Write your answer in the task "
            "cell above, run that cell, then run this check again."
        )


def _as_array(name: str, value: Any) -> np.ndarray:
    """Convert numbers, sequences, NumPy arrays and tensors to a float array.

    Strings and booleans are refused: ``"0.5"`` or ``True`` would otherwise be
    converted silently and pass a numerical check.
    """
    _require_answer(name, value)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, str | bytes):
        raise CheckError(
            f"{name} should be a number, not the string {_short(value)}; "
            "compute it, or write the number without quotes."
        )
    if isinstance(value, bool | np.bool_):
        raise CheckError(
            f"{name} should be a number, got the truth value {value!r}; "
            "compute the number itself."
        )
    raw = np.asarray(value) if not isinstance(value, np.ndarray) else value
    if (
        raw.dtype.kind in "USO"
        and raw.dtype.kind != "O"
        or (raw.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in raw.flat))
    ):
        raise CheckError(
            f"{name} should hold numbers, but it holds strings; "
            "compute the numbers, or write them without quotes."
        )
    if raw.dtype.kind == "b":
        raise CheckError(
            f"{name} should hold numbers, but it holds True/False values; if you mean "
            "1 and 0, convert it with .astype(float)."
        )
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise CheckError(
            f"{name} should be a number or an array of numbers, "
            f"got a {type(value).__name__}"
        ) from err
    return array


def _short(value: Any, limit: int = 120) -> str:
    """``repr`` cut to ``limit`` characters, so that no message dumps a whole array."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " ...)"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def check_close(
    name: str,
    value: Any,
    expected: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    hint: str | None = None,
) -> None:
    """Check that a number or array is close to the expected one.

    Passes when ``|value - expected| <= atol + rtol * |expected|`` element-wise
    (as :func:`numpy.isclose`).

    Parameters
    ----------
    name : str
        How the answer is called in the notebook, for the message.
    value : number, array or tensor
        The learner's answer.
    expected : number, array or tensor
        The reference value, computed from the data.
    rtol, atol : float
        Relative and absolute tolerance.
    hint : str, optional
        Added to the message when the check fails.

    Raises
    ------
    AssertionError
        If shapes differ, a value is not finite, or some element is too far off.
    """
    got = _as_array(name, value)
    want = _as_array("the expected value", expected)
    if got.shape != want.shape:
        _fail(
            f"{name} has shape {got.shape}, but the expected shape is {want.shape}.",
            hint,
        )
    if not np.all(np.isfinite(got)):
        _fail(f"{name} contains NaN or infinite values.", hint)
    close = np.isclose(got, want, rtol=rtol, atol=atol)
    if not close.all():
        if got.ndim == 0:
            _fail(
                f"{name} is {_fmt(float(got))}, but the expected value is {_fmt(float(want))} "
                f"(allowed difference {_fmt(atol + rtol * abs(float(want)))}).",
                hint,
            )
        errors = np.abs(got - want)
        worst = np.unravel_index(int(np.argmax(errors)), got.shape)
        _fail(
            f"{int((~close).sum()):,} of {got.size:,} values of {name} are off; the worst is "
            f"at index {tuple(int(i) for i in worst)}: {_fmt(float(got[worst]))} instead of "
            f"{_fmt(float(want[worst]))}.",
            hint,
        )
    if got.ndim == 0:
        _ok(f"{name} = {_fmt(float(got))}")
    else:
        _ok(f"{name}: all {got.size:,} values match")


def _plain(x: Any) -> Any:
    """Tensors and arrays to nested tuples, NumPy scalars to Python numbers."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, Sequence) and not isinstance(x, str):
        return tuple(_plain(item) for item in x)
    return x


def _shape(x: Any) -> tuple[int, ...] | None:
    """Return the shape of a nested tuple: ``()`` for a scalar, None when ragged."""
    if not isinstance(x, tuple):
        return ()
    inner = {_shape(item) for item in x}
    if None in inner or len(inner) > 1:
        return None
    return (len(x), *(inner.pop() if inner else ()))


def _first_difference(got: tuple, want: tuple) -> tuple[tuple[int, ...], Any, Any, int]:
    """Index and values of the first differing element, and how many differ."""
    flat_got = np.asarray(got, dtype=object).reshape(-1)
    flat_want = np.asarray(want, dtype=object).reshape(-1)
    differs = np.array([a != b for a, b in zip(flat_got, flat_want, strict=True)])
    first = int(np.argmax(differs))
    index = np.unravel_index(first, np.asarray(want, dtype=object).shape)
    return (
        tuple(int(i) for i in index),
        flat_got[first],
        flat_want[first],
        int(differs.sum()),
    )


def check_equal(
    name: str, value: Any, expected: Any, *, hint: str | None = None
) -> None:
    """Check that an answer equals the expected one exactly (integers, tuples, strings).

    NumPy scalars and 0-d tensors are compared as Python numbers, and
    sequences are compared as tuples, so ``[3, 5]`` equals ``(3, 5)``. For
    arrays, a failure reports the shapes or the first differing element and
    how many differ, never the whole array.

    Raises
    ------
    AssertionError
        If the answer differs from ``expected``.
    """
    _require_answer(name, value)
    got, want = _plain(value), _plain(expected)
    got_shape, want_shape = _shape(got), _shape(want)
    large = max(len(repr(got)), len(repr(want))) > 120
    if got != want:
        if want_shape and got_shape != want_shape and (got_shape or large):
            found = f"shape {got_shape}" if got_shape else _short(got)
            _fail(
                f"{name} has {found}, but the expected answer has shape {want_shape}.",
                hint,
            )
        if want_shape and got_shape == want_shape and large:
            index, a, b, count = _first_difference(got, want)
            _fail(
                f"{count:,} of {int(np.prod(want_shape)):,} values of {name} differ "
                f"from the expected answer; the first is at index {index}: "
                f"{a!r} instead of {b!r}.",
                hint,
            )
        _fail(
            f"{name} is {_short(got)}, but the expected answer is {_short(want)}.",
            hint,
        )
    if large and want_shape:
        _ok(f"{name}: all {int(np.prod(want_shape)):,} values match")
    else:
        _ok(f"{name} = {got!r}")


def check_shape(
    name: str, value: Any, shape: Sequence[int], *, hint: str | None = None
) -> None:
    """Check that an array or tensor has the expected shape.

    Raises
    ------
    AssertionError
        If the answer has no shape or a different one.
    """
    _require_answer(name, value)
    got = getattr(value, "shape", None)
    if got is None:
        _fail(
            f"{name} should be an array or tensor of shape {tuple(shape)}, "
            f"got a {type(value).__name__}.",
            hint,
        )
    if tuple(got) != tuple(shape):
        _fail(
            f"{name} has shape {tuple(got)}, but the expected shape is {tuple(shape)}.",
            hint,
        )
    _ok(f"{name} has shape {tuple(shape)}")


def check_in_range(
    name: str, value: Any, low: float, high: float, *, hint: str | None = None
) -> None:
    """Check that a number (or every element of an array) lies in ``[low, high]``.

    Raises
    ------
    AssertionError
        If some value is outside the interval or not finite.
    """
    got = _as_array(name, value)
    if not np.all(np.isfinite(got)):
        _fail(f"{name} contains NaN or infinite values.", hint)
    outside = (got < low) | (got > high)
    if outside.any():
        if got.ndim == 0:
            _fail(
                f"{name} should lie between {_fmt(low)} and {_fmt(high)}, but it is "
                f"{_fmt(float(got))}.",
                hint,
            )
        example = _fmt(float(got[outside].flat[0]))
        _fail(
            f"every value of {name} should lie between {_fmt(low)} and {_fmt(high)}, but "
            f"{int(outside.sum()):,} of {got.size:,} do not (for example {example}).",
            hint,
        )
    if got.ndim == 0:
        _ok(f"{name} = {_fmt(float(got))}, between {_fmt(low)} and {_fmt(high)}")
    else:
        _ok(f"{name}: all {got.size:,} values between {_fmt(low)} and {_fmt(high)}")


#: Shares computed in floating point may land a hair outside [0, 1]
#: (``1.0000000000000002``); closer than this to a bound counts as on it.
ROUND_OFF = 1e-9


def check_probability(name: str, value: Any, *, hint: str | None = None) -> None:
    """Check that an answer is a share or probability: finite and within ``[0, 1]``.

    Values within :data:`ROUND_OFF` of 0 or 1 pass (floating-point round-off).
    A value above 1 gets a message that says so, and suggests dividing by 100
    if it is a percentage.

    Raises
    ------
    AssertionError
        If some value is outside ``[0, 1]``.
    """
    got = _as_array(name, value)
    if not np.all(np.isfinite(got)):
        _fail(f"{name} contains NaN or infinite values.", hint)
    if got.size and got.max() > 1 + ROUND_OFF:
        largest = float(got.max())
        what = (
            f"{name} is {_fmt(largest)}"
            if got.ndim == 0
            else f"the largest value of {name} is {_fmt(largest)}"
        )
        advice = (
            "If you computed a percentage, divide by 100; otherwise check what you "
            "divided by (the count of all cases)."
            if largest <= 100
            else "Check what you divided by (the count of all cases)."
        )
        _fail(
            f"{name} should be a share between 0 and 1, but {what}, above 1. {advice}",
            hint,
        )
    check_in_range(
        name, np.clip(got, 0.0, 1.0) if _near_unit(got) else got, 0.0, 1.0, hint=hint
    )


def _near_unit(values: np.ndarray) -> bool:
    return bool(np.all((values >= -ROUND_OFF) & (values <= 1 + ROUND_OFF)))


def check_choice(
    name: str,
    value: Any,
    feedback: Mapping[str, str],
    correct: str,
    *,
    hint: str | None = None,
) -> None:
    """Check a multiple-choice answer and explain why a wrong option is wrong.

    Parameters
    ----------
    name : str
        How the answer is called in the notebook.
    value : str
        The learner's choice, e.g. ``"b"`` (case and spaces are ignored).
    feedback : mapping of str to str
        For every option, why it is right or wrong.
    correct : str
        The right option.
    hint : str, optional
        Added to the message when the check fails.

    Raises
    ------
    AssertionError
        If the choice is not an option, or not the right one.
    """
    _require_answer(name, value)
    choice = str(value).strip().lower()
    options = {key.lower(): text for key, text in feedback.items()}
    if choice not in options:
        _fail(
            f"{name} should be one of {', '.join(sorted(options))}, got {value!r}.",
            hint,
        )
    if choice != correct.lower():
        _fail(f"{name} = {choice!r} is not the best answer: {options[choice]}", hint)
    _ok(f"{name} = {choice!r}: {options[choice]}")


# Reference computations ---------------------------------------------------------------


def _tensor(values: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().to(dtype)
    return torch.as_tensor(np.asarray(values)).to(dtype)


def _confusion(
    truth: torch.Tensor, predicted: torch.Tensor, n_classes: int = 10
) -> torch.Tensor:
    """Confusion matrix (rows: true class, columns: predicted), counted with bincount."""
    counts = torch.bincount(
        truth * n_classes + predicted, minlength=n_classes * n_classes
    )
    return counts.reshape(n_classes, n_classes).to(torch.float64)


def expected_class_means(images: Any, labels: Any, n_classes: int = 10) -> np.ndarray:
    """Return the mean image of every class, shape ``(n_classes, H, W)``.

    Computed as a one-hot matrix product in float64, not by boolean masks.

    Raises
    ------
    ValueError
        If some class has no image.
    """
    pixels = _tensor(images)
    onehot = torch.nn.functional.one_hot(_tensor(labels, torch.int64), n_classes).to(
        torch.float64
    )
    counts = onehot.sum(dim=0)
    if (counts == 0).any():
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"no images of class {missing}")
    sums = onehot.T @ pixels.reshape(len(pixels), -1)
    return (sums / counts[:, None]).reshape(n_classes, *pixels.shape[1:]).numpy()


def expected_closest_pair(means: Any) -> tuple[tuple[int, int], float]:
    """Return the two classes whose mean images are closest (Euclidean) and their distance.

    Parameters
    ----------
    means : array of shape (C, H, W)
        One image per class.

    Returns
    -------
    (pair, distance) : tuple
        ``pair`` is ``(a, b)`` with ``a < b``.
    """
    flat = _tensor(means).reshape(len(means), -1)
    distances = torch.cdist(flat, flat)
    distances.fill_diagonal_(float("inf"))
    index = int(torch.argmin(distances))
    a, b = sorted(divmod(index, distances.shape[1]))
    return (a, b), float(distances[a, b])


def expected_ink_tail(
    images: Any, labels: Any, percentile: float = 95.0, n_classes: int = 10
) -> tuple[float, np.ndarray, np.ndarray]:
    """Describe the heavy-ink tail: images whose ink mass is above a percentile of all.

    Ink mass is the sum of an image's pixel values; the threshold is the
    ``percentile`` of the ink masses of all images (linear interpolation, as
    :func:`numpy.percentile` and :func:`torch.quantile` both default to).

    Returns
    -------
    threshold : float
        The ink mass at the percentile.
    share_of_tail : numpy.ndarray of shape (n_classes,)
        Which share of the tail images each class makes up (sums to 1).
    share_in_tail : numpy.ndarray of shape (n_classes,)
        Which share of each class's images lies in the tail.
    """
    pixels = _tensor(images)
    ink = pixels.reshape(len(pixels), -1).sum(dim=1)
    threshold = float(torch.quantile(ink, percentile / 100.0))
    in_tail = ink > threshold
    per_class = torch.bincount(_tensor(labels, torch.int64), minlength=n_classes).to(
        torch.float64
    )
    tail = torch.bincount(_tensor(labels, torch.int64)[in_tail], minlength=n_classes)
    tail = tail.to(torch.float64)
    return threshold, (tail / tail.sum()).numpy(), (tail / per_class).numpy()


def expected_gan_test_per_class(
    judge: torch.nn.Module,
    generator: torch.nn.Module,
    per_class: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """Return the GAN-test accuracy of each digit, shape ``(10,)``.

    Generates ``per_class`` samples of every digit from the same noise as
    :func:`synthbook.metrics.gan_test_accuracy` (``gan.generate`` with
    ``seed``), then takes the arg-max of the judge's raw logits and counts hits
    per digit with :func:`torch.bincount` (the solutions use ``judge.predict``
    and boolean masks).
    """
    from synthbook import gan

    labels = torch.arange(10).repeat_interleave(per_class)
    images = gan.generate(generator, labels, seed=seed)
    judge.eval()
    with torch.no_grad():
        predicted = judge(images).argmax(dim=1)
    hits = torch.bincount(labels[predicted == labels], minlength=10).to(torch.float64)
    return (hits / per_class).numpy()


def expected_augmented_recall(
    train: Any,
    test: Any,
    digit: int,
    keep: int,
    strategy: str,
    amount: int,
    *,
    seed: int = 0,
    epochs: int = 2,
    arch: str = "mlp",
) -> tuple[float, float]:
    """Recall of the rare ``digit`` and overall accuracy after filling a long tail.

    The recipe of the exercise on the chapter *Variability, exposure and the
    odd*: keep ``keep`` training images of ``digit``
    (:func:`synthbook.chapters.variability.make_long_tail`), add ``amount`` images made by
    ``strategy`` (:func:`synthbook.chapters.variability.synthesize`, after the long-tailed
    images, labelled ``digit``), train :func:`synthbook.metrics.train_classifier`
    and score it on ``test``. Recall and accuracy are read off a confusion
    matrix built with :func:`torch.bincount`.

    Returns
    -------
    (rare_recall, accuracy) : tuple of float
    """
    from synthbook import metrics
    from synthbook.chapters import variability

    tail = variability.make_long_tail(train, digit, keep, seed=seed)
    added = variability.synthesize(strategy, tail, digit, amount, seed=seed)
    images = torch.cat([tail.images, added])
    labels = torch.cat(
        [tail.labels, torch.full((len(added),), digit, dtype=torch.int64)]
    )
    model = metrics.train_classifier(
        images, labels, arch=arch, epochs=epochs, seed=seed
    )
    predicted = torch.as_tensor(model.predict(test.images)).long()
    confusion = _confusion(_tensor(test.labels, torch.int64), predicted)
    rare_recall = float(confusion[digit, digit] / confusion[digit].sum())
    accuracy = float(confusion.diagonal().sum() / confusion.sum())
    return rare_recall, accuracy


# Chapters "Too real, not real enough" and "Precision, portability and the generated anomaly"


def expected_auc(member_scores: Any, nonmember_scores: Any) -> float:
    """ROC AUC of membership scores, counted pair by pair (members are the positives).

    The AUC is the share of (member, non-member) pairs in which the member
    scores higher, ties counting one half: the Mann-Whitney form, computed
    from the full comparison table in PyTorch (the solutions use
    :func:`sklearn.metrics.roc_auc_score`).

    Parameters
    ----------
    member_scores, nonmember_scores : array-like of shape (M,) and (K,)
        Attack scores; higher means "was in the training set".

    Returns
    -------
    float
        Between 0 and 1; 0.5 is guessing.

    Raises
    ------
    ValueError
        If either group is empty.
    """
    pos = _tensor(member_scores).reshape(-1)
    neg = _tensor(nonmember_scores).reshape(-1)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("need at least one member score and one non-member score")
    wins = (pos[:, None] > neg[None, :]).to(torch.float64)
    ties = (pos[:, None] == neg[None, :]).to(torch.float64)
    return float((wins + 0.5 * ties).mean())


def expected_distance_attack_auc(
    members: Any, nonmembers: Any, generated: Any
) -> float:
    """AUC of the black-box distance attack: minus the distance to the nearest generated image.

    Distances are Euclidean between flattened pixels, from :func:`torch.cdist`
    in float64; the AUC is :func:`expected_auc`.

    Parameters
    ----------
    members, nonmembers : array-like of shape (M, ...) and (K, ...)
        Candidate images that were, and were not, in the generator's training set.
    generated : array-like of shape (G, ...)
        What the attacker sees: images from the generator.

    Returns
    -------
    float
    """
    pool = _tensor(generated).reshape(len(generated), -1)

    def score(images: Any) -> torch.Tensor:
        flat = _tensor(images).reshape(len(images), -1)
        return -torch.cdist(flat, pool).min(dim=1).values

    return expected_auc(score(members), score(nonmembers))


def expected_closer_share(samples: Any, train: Any, holdout: Any) -> float:
    """Share of samples nearer (in pixels) to ``train`` than to an equally large ``holdout``.

    Ties count one half. Unlike :func:`synthbook.chapters.too_real.closer_to_train_share`
    this does not subsample, so the two reference sets must have the same size.

    Parameters
    ----------
    samples : array-like of shape (N, ...)
        Generated images.
    train, holdout : array-like of shape (M, ...)
        The generator's training images and real images it never saw.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``train`` and ``holdout`` differ in size.
    """
    if len(train) != len(holdout):
        raise ValueError(
            f"train and holdout must be equally large, got {len(train)} and "
            f"{len(holdout)}"
        )
    flat = _tensor(samples).reshape(len(samples), -1)
    to_train = (
        torch.cdist(flat, _tensor(train).reshape(len(train), -1)).min(dim=1).values
    )
    to_holdout = (
        torch.cdist(flat, _tensor(holdout).reshape(len(holdout), -1)).min(dim=1).values
    )
    flags = (to_train < to_holdout).to(torch.float64) + 0.5 * (to_train == to_holdout)
    return float(flags.mean())


def expected_tstr_accuracy(
    images: Any,
    labels: Any,
    test_images: Any,
    test_labels: Any,
    *,
    seed: int = 0,
    epochs: int = 8,
    arch: str = "mlp",
) -> float:
    """Accuracy on real test digits of a classifier trained on ``images`` (real or synthetic).

    Trains :func:`synthbook.metrics.train_classifier` with the given settings
    and reads the accuracy off a confusion matrix built with
    :func:`torch.bincount` from the arg-max of the raw logits.

    Returns
    -------
    float
    """
    from synthbook import metrics

    model = metrics.train_classifier(
        _tensor(images, torch.float32),
        _tensor(labels, torch.int64),
        arch=arch,
        epochs=epochs,
        seed=seed,
    )
    with torch.no_grad():
        predicted = model(_tensor(test_images, torch.float32)).argmax(dim=1)
    confusion = _confusion(_tensor(test_labels, torch.int64), predicted)
    return float(confusion.diagonal().sum() / confusion.sum())


def expected_generated_oddness(
    generator: torch.nn.Module,
    normal: Any,
    held_out: Any,
    noise_scale: float,
    *,
    per_digit: int = 100,
    seed: int = 10,
    epochs: int = 2,
    classifier_seed: int = 0,
) -> np.ndarray:
    """How "odd" a detector trained on generated anomalies finds each held-out image.

    The detector is :func:`synthbook.metrics.train_classifier` (an MLP)
    trained to tell ``normal`` images (label 0) from ``per_digit`` generated
    images of every digit (label 1), made with ``gan.generate(generator, ...,
    seed=seed, noise_scale=noise_scale)``. The oddness of an image is the
    softmax probability of label 1, computed in float64 from the raw logits.

    Returns
    -------
    numpy.ndarray of shape (len(held_out),)
    """
    from synthbook import gan, metrics

    odd = gan.generate(
        generator,
        torch.arange(10).repeat_interleave(per_digit),
        seed=seed,
        noise_scale=noise_scale,
    )
    normal_t = _tensor(normal, torch.float32).reshape(-1, 28, 28)
    labels = torch.cat([torch.zeros(len(normal_t)), torch.ones(len(odd))]).long()
    detector = metrics.train_classifier(
        torch.cat([normal_t, odd]),
        labels,
        arch="mlp",
        epochs=epochs,
        seed=classifier_seed,
    )
    with torch.no_grad():
        logits = detector(_tensor(held_out, torch.float32)).to(torch.float64)
    return torch.softmax(logits, dim=1)[:, 1].numpy()


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n, tied values sharing the mean of their ranks."""
    order = torch.argsort(values, stable=True)
    ranks = torch.empty(len(values), dtype=torch.float64)
    ranks[order] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    _, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    sums = torch.zeros(len(counts), dtype=torch.float64).index_add_(0, inverse, ranks)
    return (sums / counts)[inverse]


def expected_rank_correlation(a: Any, b: Any) -> float:
    """Spearman's rank correlation of two equally long arrays.

    Pearson's correlation of the average ranks, computed in PyTorch (the
    solutions use :func:`scipy.stats.spearmanr`).

    Raises
    ------
    ValueError
        If the arrays differ in length or hold fewer than two values.
    """
    x, y = _tensor(a).reshape(-1), _tensor(b).reshape(-1)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(
            f"need two arrays of the same length >= 2, got {len(x)} and {len(y)}"
        )
    rx, ry = _average_ranks(x), _average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / torch.sqrt((rx * rx).sum() * (ry * ry).sum()))


# Chapter "Fix the data, fix the algorithm?"


def _linear_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    """Return the weight matrices of every :class:`torch.nn.Linear` layer, in module order.

    Reads ``weight_orig`` where :mod:`torch.nn.utils.prune` has already
    re-parametrised a layer, so a pruned model gives its unpruned weights.
    """
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not layers:
        raise ValueError("the model has no torch.nn.Linear layer to prune")
    return [getattr(m, "weight_orig", m.weight).detach().cpu() for m in layers]


def _global_magnitude_masks(
    model: torch.nn.Module, amount: float
) -> list[torch.Tensor]:
    """Keep-masks (1 keep, 0 pruned) of global magnitude pruning, one per linear layer.

    The ``round(amount * n)`` weights of smallest absolute value among all
    ``n`` linear weights are pruned, found by one stable sort of the
    concatenated magnitudes (not with :mod:`torch.nn.utils.prune`).
    """
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"amount must be a share in [0, 1), got {amount}")
    weights = _linear_weights(model)
    magnitudes = torch.cat([w.reshape(-1).abs().to(torch.float64) for w in weights])
    keep = torch.ones(len(magnitudes), dtype=torch.float64)
    keep[torch.argsort(magnitudes, stable=True)[: round(amount * len(magnitudes))]] = (
        0.0
    )
    return [
        m.reshape(w.shape)
        for m, w in zip(
            torch.split(keep, [w.numel() for w in weights]), weights, strict=True
        )
    ]


def expected_pruning_sparsity(
    model: torch.nn.Module, amount: float
) -> tuple[float, np.ndarray]:
    """Sparsity reached by global magnitude pruning of a model's linear weights.

    Global (unstructured, L1) magnitude pruning ranks the weights of all
    :class:`torch.nn.Linear` layers together and sets the ``amount`` share with
    the smallest absolute values to zero, as
    ``torch.nn.utils.prune.global_unstructured`` with
    ``prune.L1Unstructured`` does. Here the ranking is one sort of all
    magnitudes; the model is not changed.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model (pruned or not: pruned layers are read through their
        ``weight_orig``).
    amount : float
        Share of all linear weights to prune, in ``[0, 1)``.

    Returns
    -------
    overall : float
        Share of all linear weights that are pruned.
    per_layer : numpy.ndarray of shape (L,)
        Share of each linear layer's weights that are pruned, in module order.

    Raises
    ------
    ValueError
        If ``amount`` is outside ``[0, 1)`` or the model has no linear layer.
    """
    masks = _global_magnitude_masks(model, amount)
    pruned = torch.tensor([float((m == 0).sum()) for m in masks], dtype=torch.float64)
    sizes = torch.tensor([float(m.numel()) for m in masks], dtype=torch.float64)
    return float(pruned.sum() / sizes.sum()), (pruned / sizes).numpy()


def expected_pruned_predictions(
    model: torch.nn.Module, amount: float, images: Any
) -> np.ndarray:
    """Predicted classes after global magnitude pruning of the linear weights.

    Runs the model with every linear weight matrix multiplied by the
    keep-mask of :func:`expected_pruning_sparsity` (through
    :func:`torch.func.functional_call`, not :mod:`torch.nn.utils.prune`) and
    takes the arg-max of the raw logits; ``model`` itself is not changed. A
    layer that :mod:`torch.nn.utils.prune` has already pruned gets the new
    mask in place of its old one, so pruning starts from its unpruned weights.

    Parameters
    ----------
    model : torch.nn.Module
        A trained classifier that maps images to logits.
    amount : float
        Share of all linear weights to prune, in ``[0, 1)``.
    images : array-like
        What the model takes, e.g. ``(N, 28, 28)`` images.

    Returns
    -------
    numpy.ndarray of shape (N,)
    """
    from torch.func import functional_call

    masks = _global_magnitude_masks(model, amount)
    layers = [
        (f"{name}." if name else "", m)
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear)
    ]
    replaced, already_pruned = {}, []
    for (prefix, layer), mask in zip(layers, masks, strict=True):
        if hasattr(layer, "weight_mask"):  # pruned: weight = weight_orig * weight_mask
            replaced[prefix + "weight_mask"] = mask.to(layer.weight_mask.dtype)
            already_pruned.append(layer)
        else:
            replaced[prefix + "weight"] = layer.weight.detach() * mask.to(
                layer.weight.dtype
            )
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = functional_call(model, replaced, (_tensor(images, torch.float32),))
    finally:
        model.train(training)
        for layer in already_pruned:  # the pruning hook set .weight from the new mask
            layer.weight = layer.weight_orig * layer.weight_mask
    return logits.argmax(dim=1).numpy()


def expected_accuracy_and_recalls(
    truth: Any, predicted: Any, n_classes: int = 10
) -> tuple[float, np.ndarray]:
    """Overall accuracy and the recall of every class, from scikit-learn.

    Uses :func:`sklearn.metrics.accuracy_score` and
    :func:`sklearn.metrics.recall_score` (``average=None``; a class with no
    true example gets recall 0), where the solutions count with NumPy masks.

    Parameters
    ----------
    truth, predicted : array-like of shape (N,)
        True and predicted classes, integers ``0`` to ``n_classes - 1``.
    n_classes : int, default 10
        How many classes there are.

    Returns
    -------
    accuracy : float
    recalls : numpy.ndarray of shape (n_classes,)
    """
    from sklearn.metrics import accuracy_score, recall_score

    y_true = _tensor(truth, torch.int64).numpy().reshape(-1)
    y_pred = _tensor(predicted, torch.int64).numpy().reshape(-1)
    recalls = recall_score(
        y_true, y_pred, labels=list(range(n_classes)), average=None, zero_division=0
    )
    return float(accuracy_score(y_true, y_pred)), np.asarray(recalls, dtype=np.float64)


def expected_clipped_gradients(per_example: Any, clip: float) -> np.ndarray:
    """Return every row of ``per_example`` clipped to norm at most ``clip``, as DP-SGD does.

    Each row goes through ``torch.nn.utils.clip_grad_norm_`` on its own (a
    different route from scaling all rows at once), in float64.

    Raises
    ------
    ValueError
        If ``per_example`` is not 2-D or ``clip`` is not positive.
    """
    rows = _tensor(per_example)
    if rows.ndim != 2:
        raise ValueError(
            f"per_example must be 2-D (examples x weights), got shape "
            f"{tuple(rows.shape)}"
        )
    if not clip > 0:
        raise ValueError(f"clip must be positive, got {clip!r}")
    clipped = []
    for row in rows:
        grad = torch.nn.Parameter(torch.zeros_like(row))
        grad.grad = row.clone()
        torch.nn.utils.clip_grad_norm_([grad], max_norm=clip)
        clipped.append(grad.grad)
    return torch.stack(clipped).numpy()
