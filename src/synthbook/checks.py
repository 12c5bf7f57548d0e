"""Answer checks for the exercise notebooks.

Every ``check_*`` function takes the *name* of the learner's answer (as it
should appear in a message), the answer itself and what to compare it with. On
success it prints one short line starting with ``✓``; on failure it raises an
:class:`AssertionError` whose message says what was expected, what was found
and, when given, a hint. Answers may be Python numbers, NumPy arrays or PyTorch
tensors.

An answer that is still a placeholder (``...``, ``None`` or ``NotImplemented``)
fails with a message that says the task has not been answered yet, not with a
confusing comparison error; a string or a truth value where a number belongs
fails with a message that says so, and an array that differs is described by
its shape or its first differing element, never printed whole.

These are the generic primitives. The expected values they compare with are
computed by the exercises' answer keys (the ``exercise_keys`` package beside
the exercises, one ``check_task_N`` function per task), not in this module.
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
    "ROUND_OFF",
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
