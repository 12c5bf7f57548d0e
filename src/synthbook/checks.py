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
    """Convert numbers, sequences, NumPy arrays and tensors to a float array."""
    _require_answer(name, value)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise CheckError(
            f"{name} should be a number or an array of numbers, got a {type(value).__name__}"
        ) from err
    return array


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
        _fail(f"{name} has shape {got.shape}, but the expected shape is {want.shape}.", hint)
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


def check_equal(name: str, value: Any, expected: Any, *, hint: str | None = None) -> None:
    """Check that an answer equals the expected one exactly (integers, tuples, strings).

    NumPy scalars and 0-d tensors are compared as Python numbers, and
    sequences are compared as tuples, so ``[3, 5]`` equals ``(3, 5)``.

    Raises
    ------
    AssertionError
        If the answer differs from ``expected``.
    """
    _require_answer(name, value)

    def plain(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        if isinstance(x, np.ndarray):
            x = x.tolist()
        if isinstance(x, np.generic):
            x = x.item()
        if isinstance(x, Sequence) and not isinstance(x, str):
            return tuple(plain(item) for item in x)
        return x

    got, want = plain(value), plain(expected)
    if got != want:
        _fail(f"{name} is {got!r}, but the expected answer is {want!r}.", hint)
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
        _fail(f"{name} has shape {tuple(got)}, but the expected shape is {tuple(shape)}.", hint)
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
            _fail(f"{name} should lie between {_fmt(low)} and {_fmt(high)}, but it is "
                  f"{_fmt(float(got))}.", hint)
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


def check_probability(name: str, value: Any, *, hint: str | None = None) -> None:
    """Check that an answer is a share or probability: finite and within ``[0, 1]``.

    A percentage (a value above 1 and at most 100) gets a message that says so.

    Raises
    ------
    AssertionError
        If some value is outside ``[0, 1]``.
    """
    got = _as_array(name, value)
    if np.all(np.isfinite(got)) and got.size and got.max() > 1 and got.max() <= 100:
        _fail(
            f"{name} should be a share between 0 and 1, but it looks like a percentage "
            f"(largest value {_fmt(float(got.max()))}); divide by 100.",
            hint,
        )
    check_in_range(name, got, 0.0, 1.0, hint=hint)


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
        _fail(f"{name} should be one of {', '.join(sorted(options))}, got {value!r}.", hint)
    if choice != correct.lower():
        _fail(f"{name} = {choice!r} is not the best answer: {options[choice]}", hint)
    _ok(f"{name} = {choice!r}: {options[choice]}")


# Reference computations ---------------------------------------------------------------


def _tensor(values: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().to(dtype)
    return torch.as_tensor(np.asarray(values)).to(dtype)


def expected_class_means(images: Any, labels: Any, n_classes: int = 10) -> np.ndarray:
    """Return the mean image of every class, shape ``(n_classes, H, W)``.

    Computed as a one-hot matrix product in float64, not by boolean masks.

    Raises
    ------
    ValueError
        If some class has no image.
    """
    pixels = _tensor(images)
    onehot = torch.nn.functional.one_hot(_tensor(labels, torch.int64), n_classes).to(torch.float64)
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
    per_class = torch.bincount(_tensor(labels, torch.int64), minlength=n_classes).to(torch.float64)
    tail = torch.bincount(_tensor(labels, torch.int64)[in_tail], minlength=n_classes)
    tail = tail.to(torch.float64)
    return threshold, (tail / tail.sum()).numpy(), (tail / per_class).numpy()


def expected_gan_test_per_class(
    judge: torch.nn.Module, generator: torch.nn.Module, per_class: int = 100, seed: int = 0
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
    (:func:`synthbook.tails.make_long_tail`), add ``amount`` images made by
    ``strategy`` (:func:`synthbook.tails.synthesize`, after the long-tailed
    images, labelled ``digit``), train :func:`synthbook.metrics.train_classifier`
    and score it on ``test``. Recall and accuracy are read off a confusion
    matrix built with :func:`torch.bincount`.

    Returns
    -------
    (rare_recall, accuracy) : tuple of float
    """
    from synthbook import metrics, tails

    tail = tails.make_long_tail(train, digit, keep, seed=seed)
    added = tails.synthesize(strategy, tail, digit, amount, seed=seed)
    images = torch.cat([tail.images, added])
    labels = torch.cat([tail.labels, torch.full((len(added),), digit, dtype=torch.int64)])
    model = metrics.train_classifier(images, labels, arch=arch, epochs=epochs, seed=seed)
    predicted = torch.as_tensor(model.predict(test.images)).long()
    truth = _tensor(test.labels, torch.int64)
    confusion = torch.bincount(truth * 10 + predicted, minlength=100).reshape(10, 10)
    confusion = confusion.to(torch.float64)
    rare_recall = float(confusion[digit, digit] / confusion[digit].sum())
    accuracy = float(confusion.diagonal().sum() / confusion.sum())
    return rare_recall, accuracy
