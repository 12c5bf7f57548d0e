"""One place for checking arguments: counts, digits, seeds, probabilities, numbers.

Every public function and command checks what it is given where it enters, with
these helpers, so that a wrong value gets the same kind of message everywhere:
it names the argument, says what was given and what would be accepted.
Booleans are never accepted as numbers, and NaN or infinity never pass.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

DIGITS = tuple(range(10))


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor | np.ndarray) and value.ndim > 0:
        return f"an array of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(value: Any) -> Any:
    """Unwrap a 0-d tensor or array (``torch.tensor(3)``) into a Python number."""
    if isinstance(value, torch.Tensor | np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def check_count(
    name: str, value: Any, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """Return ``value`` as an ``int`` if it is a whole number in range.

    A float with no fractional part (``3.0``) is accepted; ``3.5``, ``True``,
    NaN and strings are not.

    Raises
    ------
    TypeError
        If ``value`` is not a whole number.
    ValueError
        If it is below ``minimum`` or above ``maximum``.
    """
    value = _scalar(value)
    if isinstance(value, str):
        raise TypeError(
            f"{name} must be a whole number, not the string {_describe(value)}; "
            f"write it without quotes"
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a whole number, got {_describe(value)}")
    if isinstance(value, numbers.Integral):
        count = int(value)
    else:
        number = float(value)
        if not math.isfinite(number) or not number.is_integer():
            raise TypeError(f"{name} must be a whole number, got {_describe(value)}")
        count = int(number)
    if count < minimum or (maximum is not None and count > maximum):
        upper = f" and at most {maximum:,}" if maximum is not None else ""
        raise ValueError(f"{name} must be at least {minimum:,}{upper}, got {count:,}")
    return count


def check_seed(name: str, value: Any) -> int:
    """Return a seed: a whole number from 0 to 2**63 - 1."""
    try:
        return check_count(name, value, minimum=0, maximum=2**63 - 1)
    except ValueError as err:
        raise ValueError(
            f"{name} must be a whole number from 0 to 2**63 - 1, got {value!r}"
        ) from err


def check_digit(name: str, value: Any) -> int:
    """Return ``value`` as a digit 0 to 9 (a whole number, not a bool or a string)."""
    if isinstance(value, str):
        raise TypeError(
            f"{name} must be a digit 0 to 9 as a number, got the string {value!r}"
        )
    try:
        return check_count(name, value, minimum=0, maximum=9)
    except ValueError as err:
        raise ValueError(f"{name} must be a digit 0 to 9, got {value!r}") from err


def check_digits(name: str, values: Any, *, unique: bool = True) -> tuple[int, ...]:
    """Return a non-empty tuple of digits; a string such as ``"89"`` is refused.

    Raises
    ------
    TypeError
        If ``values`` is a string or not a sequence of whole numbers.
    ValueError
        If it is empty, holds a number outside 0 to 9 or (with ``unique``) a repeat.
    """
    values = _scalar(values)
    if isinstance(values, str):
        raise TypeError(
            f"{name} must be digits given as numbers, e.g. [8, 9], "
            f"not the string {values!r}"
        )
    if isinstance(values, numbers.Real):
        values = [values]
    if not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a digit or a list of digits, got {values!r}")
    digits = tuple(check_digit(name, v) for v in values)
    if not digits:
        raise ValueError(f"{name} must name at least one digit (0 to 9)")
    if unique and len(set(digits)) != len(digits):
        raise ValueError(f"{name} may name each digit once, got {list(digits)}")
    return digits


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    inclusive: tuple[bool, bool] = (True, True),
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds.

    Raises
    ------
    TypeError
        If ``value`` is not a real number (bools and strings are refused).
    ValueError
        If it is NaN, infinite or out of bounds.
    """
    value = _scalar(value)
    if isinstance(value, str):
        raise TypeError(
            f"{name} must be a number, not the string {_describe(value)}; "
            f"write it without quotes"
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {_describe(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    low_ok = minimum is None or (
        number >= minimum if inclusive[0] else number > minimum
    )
    high_ok = maximum is None or (
        number <= maximum if inclusive[1] else number < maximum
    )
    if not (low_ok and high_ok):
        left = (
            "" if minimum is None else ("[" if inclusive[0] else "(") + f"{minimum:g}"
        )
        right = (
            "" if maximum is None else f"{maximum:g}" + ("]" if inclusive[1] else ")")
        )
        if minimum is None:
            span = f"at most {maximum:g}" if inclusive[1] else f"below {maximum:g}"
        elif maximum is None:
            span = f"at least {minimum:g}" if inclusive[0] else f"above {minimum:g}"
        else:
            span = f"in {left}, {right}"
        raise ValueError(f"{name} must be {span}, got {number:g}")
    return number


def check_probability(name: str, value: Any, *, open_ends: bool = False) -> float:
    """Return a probability in [0, 1] (or (0, 1) with ``open_ends``)."""
    ends = (not open_ends, not open_ends)
    return check_number(name, value, minimum=0.0, maximum=1.0, inclusive=ends)


def check_choice(name: str, value: Any, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options`` (strings), else say which are."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, options))}, "
            f"got {_describe(value)}"
        )
    return value


def check_finite(name: str, values: torch.Tensor | np.ndarray) -> None:
    """Refuse arrays or tensors that hold NaN or infinity, saying how many and where.

    Raises
    ------
    ValueError
        If any element is not finite.
    """
    tensor = torch.as_tensor(values)
    if not (tensor.is_floating_point() or tensor.is_complex()) or not tensor.numel():
        return
    if tensor.is_floating_point():
        low, high = torch.aminmax(tensor)  # NaN propagates; much faster than isfinite
        if math.isfinite(float(low)) and math.isfinite(float(high)):
            return
    bad = ~torch.isfinite(tensor)
    if bool(bad.any()):
        count = int(bad.sum())
        first = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(
            f"{name} holds {count:,} NaN or infinite value(s) (the first at index "
            f"{first}); remove or replace them before passing {name}"
        )


def check_choices(
    name: str, values: Any, options: Sequence[str], *, unique: bool = True
) -> tuple[str, ...]:
    """Return a non-empty tuple of names, each one of ``options``.

    A single string is refused rather than read letter by letter: the fix is
    to wrap it in a list, which the message shows.

    Raises
    ------
    TypeError
        If ``values`` is a string or not a sequence of strings.
    ValueError
        If it is empty, names an unknown option or (with ``unique``) repeats one.
    """
    if isinstance(values, str):
        raise TypeError(
            f"{name} must be a list of names, e.g. [{values!r}], not the string "
            f"{values!r} (a string would be read letter by letter)"
        )
    if not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of names, got {_describe(values)}")
    chosen = tuple(check_choice(name, v, options) for v in values)
    if not chosen:
        raise ValueError(
            f"{name} must name at least one of {', '.join(map(repr, options))}"
        )
    if unique and len(set(chosen)) != len(chosen):
        raise ValueError(f"{name} may name each option once, got {list(chosen)}")
    return chosen


def check_digit_labels(name: str, labels: Any) -> torch.Tensor:
    """Return ``labels`` as a 1-D ``int64`` tensor of digits 0 to 9.

    Whole-number floats (``3.0``) are accepted; ``3.5``, booleans, strings,
    NaN and digits outside 0 to 9 are refused, saying which value is wrong.

    Raises
    ------
    TypeError
        If ``labels`` is not a sequence, array or tensor of whole numbers.
    ValueError
        If it is not 1-D or holds a value outside 0 to 9.
    """
    if isinstance(labels, str):
        raise TypeError(
            f"{name} must be digits given as numbers, e.g. [8, 9], "
            f"not the string {labels!r}"
        )
    try:
        tensor = torch.as_tensor(
            labels.detach().cpu()
            if isinstance(labels, torch.Tensor)
            else np.asarray(labels)
        )
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(
            f"{name} must be digits 0 to 9 (a list, array or tensor of whole numbers), "
            f"got {_describe(labels)}"
        ) from err
    if tensor.dtype == torch.bool or not (
        tensor.is_floating_point() or tensor.dtype in _INT_DTYPES
    ):
        raise TypeError(
            f"{name} must hold whole numbers 0 to 9, got values of type {tensor.dtype}"
        )
    if tensor.ndim != 1:
        raise ValueError(
            f"{name} must be one digit per image (a 1-D list), got shape "
            f"{tuple(tensor.shape)}"
        )
    if tensor.is_floating_point():
        check_finite(name, tensor)
        fractional = tensor != tensor.round()
        if bool(fractional.any()):
            first = int(torch.nonzero(fractional)[0])
            raise TypeError(
                f"{name} must hold whole numbers 0 to 9, got {float(tensor[first]):g} "
                f"at index {first}"
            )
    outside = (tensor < 0) | (tensor > 9)
    if bool(outside.any()):
        first = int(torch.nonzero(outside)[0])
        raise ValueError(
            f"{name} must hold digits 0 to 9, got {tensor[first].item():g} at index "
            f"{first} ({int(outside.sum()):,} value(s) outside 0 to 9)"
        )
    return tensor.to(torch.int64)


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def check_output_path(
    name: str,
    path: Any,
    *,
    overwrite: bool = False,
    suffix: str | None = None,
    overwrite_hint: str = "choose another name or allow replacing it",
) -> Path:
    """Check, before any work is done, that a result can be written to ``path``.

    Refuses a folder, an existing file (unless ``overwrite``), a wrong suffix,
    and a folder this process cannot write (found by creating and removing a
    temporary file there, which also catches read-only file systems). A
    missing parent folder is fine if it can be created.

    Returns
    -------
    Path
        ``path`` as given (not resolved), so messages show the user's own path.

    Raises
    ------
    TypeError
        If ``path`` is not a string or path.
    ValueError
        For a folder, an existing file or a wrong suffix.
    PermissionError
        If the folder cannot be written.
    """
    if not isinstance(path, str | os.PathLike) or not str(path).strip():
        raise TypeError(f"{name} must be a file name, got {_describe(path)}")
    target = Path(path).expanduser()
    if target.is_dir():
        example = target / ("result" + (suffix or ""))
        raise ValueError(
            f"{name} {path} is a folder; give a file name inside it, e.g. {example}"
        )
    if suffix is not None and target.suffix != suffix:
        raise ValueError(f"{name} must end in {suffix}, got {path}")
    if target.exists() and not overwrite:
        raise ValueError(f"{name} {path} exists; {overwrite_hint}")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{name} {path} cannot be created: {folder} is a file")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".synthbook-probe-"):
            pass
    except OSError as err:
        raise PermissionError(
            f"{name} {path} cannot be written: the folder {folder} is not writable "
            f"({err.strerror or err}); choose a folder you can write to"
        ) from err
    return Path(path)


def check_input_file(name: str, path: Any) -> Path:
    """Check that ``path`` names an existing, readable file (not a folder).

    Raises
    ------
    TypeError
        If ``path`` is not a string or path.
    FileNotFoundError
        If there is nothing at ``path``.
    ValueError
        If it is a folder.
    PermissionError
        If it cannot be read.
    """
    if not isinstance(path, str | os.PathLike) or not str(path).strip():
        raise TypeError(f"{name} must be a file name, got {_describe(path)}")
    target = Path(path).expanduser()
    if target.is_dir():
        raise ValueError(f"{name} {path} is a folder; give the file inside it")
    if not target.exists():
        raise FileNotFoundError(f"{name} {path} does not exist")
    if not os.access(target, os.R_OK):
        raise PermissionError(f"{name} {path} cannot be read (permission denied)")
    return Path(path)
