"""The check primitives learners call: clear messages for wrong, odd or typed-in answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthbook import checks


def test_probability_accepts_round_off_at_both_ends(capsys) -> None:
    checks.check_probability("share", 1.0000000000000002)
    checks.check_probability("shares", np.array([0.3, -1e-17, 1 + 1e-12]))
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize(
    ("value", "says", "not_says"),
    [
        (1.5, "1.5, above 1", None),
        (44.0, "divide by 100", None),
        (440.0, "above 1", "divide by 100"),
        ([0.2, 3.0], "largest value of share is 3", None),
    ],
)
def test_probability_above_one_is_called_a_share_above_one(
    value: object, says: str, not_says: str | None
) -> None:
    with pytest.raises(AssertionError) as info:
        checks.check_probability("share", value)
    message = str(info.value)
    assert says in message and "share" in message
    assert not_says is None or not_says not in message


def test_probability_refuses_nan_and_negative_shares() -> None:
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_probability("share", float("nan"))
    with pytest.raises(AssertionError, match="between 0 and 1, but it is -0.1"):
        checks.check_probability("share", -0.1)


def test_equal_reports_first_difference_not_whole_arrays() -> None:
    want = np.arange(5000)
    got = want.copy()
    got[1234] = -1
    got[4000] = -2
    with pytest.raises(AssertionError) as info:
        checks.check_equal("labels", got, want)
    message = str(info.value)
    assert "2 of 5,000 values of labels differ" in message
    assert "index (1234,): -1 instead of 1234" in message
    assert len(message) < 300


def test_equal_reports_shapes_of_arrays_that_differ_in_shape() -> None:
    with pytest.raises(AssertionError) as info:
        checks.check_equal("grid", np.zeros((100, 30), int), np.zeros((30, 100), int))
    message = str(info.value)
    assert "grid has shape (100, 30)" in message and "shape (30, 100)" in message
    assert len(message) < 200


def test_equal_success_on_a_large_array_prints_one_short_line(capsys) -> None:
    checks.check_equal("labels", torch.arange(3000), np.arange(3000))
    out = capsys.readouterr().out
    assert out == "✓ labels: all 3,000 values match\n"


def test_equal_keeps_short_answers_readable() -> None:
    with pytest.raises(AssertionError, match=r"pair is 4, but .* is \(4, 9\)"):
        checks.check_equal("pair", 4, (4, 9))
    with pytest.raises(AssertionError, match=r"pair is \(9, 4\)"):
        checks.check_equal("pair", [9, 4], (4, 9))


@pytest.mark.parametrize("value", ["0.5", b"0.5", ["0.5", "0.2"], np.array(["1"])])
def test_close_and_in_range_refuse_strings(value: object) -> None:
    with pytest.raises(AssertionError, match="string|strings"):
        checks.check_close("share", value, 0.5)
    with pytest.raises(AssertionError, match="string|strings"):
        checks.check_in_range("share", value, 0.0, 1.0)


@pytest.mark.parametrize("value", [True, np.bool_(False), np.array([True, False])])
def test_close_refuses_truth_values(value: object) -> None:
    with pytest.raises(AssertionError, match="[Tt]ruth value|True/False"):
        checks.check_close("share", value, 1.0)


def test_close_still_accepts_numbers_arrays_and_tensors(capsys) -> None:
    checks.check_close("x", np.float32(0.5), 0.5)
    checks.check_close("xs", [1, 2], torch.tensor([1.0, 2.0]))
    checks.check_in_range("digit", np.int64(3), 0, 9)
    assert capsys.readouterr().out.count("✓") == 3
