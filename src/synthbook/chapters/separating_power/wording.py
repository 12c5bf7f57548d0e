"""Words for counts: number agreement, and how many results chance alone gives.

The chapter counts comparisons ("higher in 1 of 54"), and a count of
"higher" verdicts means little until it is set beside what chance alone would
give at that number of tests. :func:`count_of` writes a count with a noun
that agrees with it; :func:`chance_rises` gives the expected number of
spurious rises and the probability of seeing at least as many, and
:func:`chance_reading` turns both into a sentence that is right for every
outcome.
"""

from __future__ import annotations

from typing import Any

from scipy import stats as scipy_stats

from synthbook import validate

#: The level of every interval in the book; a two-sided 95% interval excludes
#: zero on the upper side with probability (1 - LEVEL) / 2 when there is no effect.
LEVEL = 0.95
#: Below this probability, a count of rises is more than chance readily gives.
RARE = 0.05


def count_of(n: Any, singular: str, plural: str | None = None) -> str:
    """Write ``n`` with a noun that agrees: ``"1 comparison"``, ``"2 comparisons"``.

    ``plural`` defaults to ``singular + "s"``; give it for nouns like
    ``"synthetic one"`` / ``"synthetic ones"`` that do not follow that rule.
    Counts use a thousands separator (``"1,000 digits"``).
    """
    count = validate.check_count("n", n)
    if not isinstance(singular, str) or not singular:
        raise TypeError(f"singular must be a non-empty string, got {singular!r}")
    noun = singular if count == 1 else (plural or singular + "s")
    return f"{count:,} {noun}"


def chance_rises(
    observed: Any, n_tests: Any, *, level: float = LEVEL
) -> dict[str, float]:
    """Return the expected chance rises in ``n_tests`` and the odds of ``observed``+.

    With no effect at all, each two-sided interval at ``level`` lies wholly
    above zero with probability ``(1 - level) / 2``. Over ``n_tests``
    independent tests the number of such rises is binomial; returns
    ``{"rate", "expected", "p_at_least"}``, where ``p_at_least`` is the
    probability of at least ``observed`` rises. Tests that share seeds are not
    independent, so this is a guide to scale, not an exact p-value.
    """
    tests = validate.check_count("n_tests", n_tests, minimum=1)
    seen = validate.check_count("observed", observed, maximum=tests)
    level = validate.check_probability("level", level, open_ends=True)
    rate = (1.0 - level) / 2.0
    p_at_least = float(scipy_stats.binom.sf(seen - 1, tests, rate))
    return {"rate": rate, "expected": tests * rate, "p_at_least": p_at_least}


def chance_reading(
    observed: Any,
    n_tests: Any,
    *,
    subject: str = "the added digits",
    level: float = LEVEL,
) -> dict[str, str]:
    """Say how ``observed`` rises in ``n_tests`` compare with chance alone.

    ``subject`` names what was added (``"synthetic 4s"``).

    Returns ``{"sentence", "clause"}``: a full sentence for the chapter and a
    short clause for a table cell, each worded for the outcome (none seen,
    about what chance gives, more than chance readily gives).
    """
    chance = chance_rises(observed, n_tests, level=level)
    seen = int(observed)
    expected = f"{chance['expected']:.1f}"
    at_least = f"{chance['p_at_least']:.0%}"
    within = f"with {level:.0%} intervals"
    setting = (
        f"If {subject} changed nothing, {count_of(n_tests, 'test')} with "
        f"{level:.0%} intervals would still show about {expected} rises by chance "
        f"alone (each has a {chance['rate']:.1%} chance of lying wholly above zero)"
    )
    if seen == 0:
        sentence = f"{setting}; this run showed none."
        clause = f"chance alone would give about {expected} {within}"
    elif chance["p_at_least"] >= RARE:
        sentence = (
            f"{setting}, and at least {seen} with probability {at_least}: "
            f"{count_of(seen, 'rise')} in {count_of(n_tests, 'test')} is about what "
            f"chance alone gives, not a confirmation of the claim."
        )
        clause = f"about what chance alone gives {within} ({expected} expected)"
    else:
        sentence = (
            f"{setting}, and {seen} or more only with probability "
            f"{chance['p_at_least']:.1%}: more rises than chance alone readily gives."
        )
        clause = f"more than chance alone readily gives {within} ({expected} expected)"
    return {"sentence": sentence, "clause": clause}
