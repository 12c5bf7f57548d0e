"""One place for checking arguments: counts, digits, seeds, probabilities, numbers.

Every public function and command checks what it is given where it enters, with
these helpers, so that a wrong value gets the same kind of message everywhere:
it names the argument, says what was given and what would be accepted.
Booleans are never accepted as numbers, and NaN or infinity never pass.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

DIGITS = tuple(range(10))


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    return check_count(name, value, minimum=0, maximum=2**63 - 1)


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
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return
    bad = ~torch.isfinite(tensor)
    if bool(bad.any()):
        count = int(bad.sum())
        first = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(
            f"{name} holds {count:,} NaN or infinite value(s) (the first at index "
            f"{first}); remove or replace them before passing {name}"
        )
