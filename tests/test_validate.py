"""synthbook.validate: one message style for every kind of argument."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from synthbook import validate as v


@pytest.mark.parametrize(
    "value", [3, 3.0, np.int64(3), np.float32(3.0), torch.tensor(3)]
)
def test_count_accepts_whole_numbers(value: object) -> None:
    assert v.check_count("n", value) == 3


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (True, TypeError, "whole number"),
        (2.5, TypeError, "2.5"),
        ("5", TypeError, "string"),
        (math.nan, TypeError, "whole number"),
        (math.inf, TypeError, "whole number"),
        (None, TypeError, "None"),
        (-1, ValueError, "at least 0"),
        (10**9, ValueError, "at most 1,000"),
    ],
)
def test_count_refuses_with_the_argument_named(
    value: object, error: type, text: str
) -> None:
    with pytest.raises(error, match=text) as info:
        v.check_count("per_class", value, maximum=1000)
    assert "per_class" in str(info.value)


def test_digits_refuse_a_string_and_repeats() -> None:
    with pytest.raises(TypeError, match=r"\[8, 9\].*not the string '89'"):
        v.check_digits("rare", "89")
    with pytest.raises(ValueError, match="once"):
        v.check_digits("rare", [8, 8])
    with pytest.raises(ValueError, match="0 to 9"):
        v.check_digits("rare", [10])
    assert v.check_digits("rare", torch.tensor([8, 9])) == (8, 9)
    assert v.check_digits("rare", 8) == (8,)


def test_choices_refuse_a_plain_string_instead_of_reading_its_letters() -> None:
    with pytest.raises(TypeError, match=r"\['gan'\].*letter by letter"):
        v.check_choices("strategies", "gan", ["gan", "copy"])
    with pytest.raises(ValueError, match="'g'|got 'x'"):
        v.check_choices("strategies", ["x"], ["gan", "copy"])
    assert v.check_choices("strategies", ("gan",), ["gan", "copy"]) == ("gan",)


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (math.nan, ValueError, "finite"),
        (-0.1, ValueError, r"in \[0, 1\]"),
        ("0.5", TypeError, "string"),
        (False, TypeError, "number"),
    ],
)
def test_probability(value: object, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        v.check_probability("p", value)


def test_digit_labels() -> None:
    out = v.check_digit_labels("labels", np.array([0.0, 9.0]))
    assert out.dtype == torch.int64 and out.tolist() == [0, 9]
    with pytest.raises(ValueError, match="got 10 at index 1"):
        v.check_digit_labels("labels", [3, 10])
    with pytest.raises(TypeError, match="whole numbers"):
        v.check_digit_labels("labels", [0.5])
    with pytest.raises(TypeError, match="bool"):
        v.check_digit_labels("labels", torch.tensor([True]))
    with pytest.raises(ValueError, match="NaN"):
        v.check_digit_labels("labels", [math.nan])
    with pytest.raises(ValueError, match="1-D"):
        v.check_digit_labels("labels", [[1, 2]])


def test_output_path_is_checked_before_any_work(tmp_path) -> None:
    with pytest.raises(ValueError, match="is a folder; give a file name inside it"):
        v.check_output_path("--out", tmp_path, suffix=".npz")
    existing = tmp_path / "a.npz"
    existing.write_bytes(b"")
    with pytest.raises(ValueError, match="exists; pass --force"):
        v.check_output_path("--out", existing, overwrite_hint="pass --force")
    assert v.check_output_path("--out", existing, overwrite=True) == existing
    with pytest.raises(ValueError, match="must end in .npz"):
        v.check_output_path("--out", tmp_path / "a.txt", suffix=".npz")
    assert v.check_output_path("--out", tmp_path / "new" / "deeper" / "a.pt")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        v.check_output_path("--out", blocker / "a.pt")
    with pytest.raises(TypeError, match="file name"):
        v.check_output_path("--out", 3)


def test_output_path_in_a_folder_that_cannot_be_written(tmp_path, monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(v.tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(
        PermissionError, match=r"--out .*not writable.*Permission denied"
    ):
        v.check_output_path("--out", tmp_path / "gan.pt")


def test_input_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="is a folder"):
        v.check_input_file("--checkpoint", tmp_path)
    with pytest.raises(FileNotFoundError, match="--checkpoint .* does not exist"):
        v.check_input_file("--checkpoint", tmp_path / "absent.pt")
