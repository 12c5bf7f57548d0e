"""The answer key of the differential-privacy exercises."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from exercise_keys import differential_privacy as key


def test_clipped_gradients_shorten_long_rows_and_keep_short_ones() -> None:
    rows = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    clipped = key.clipped_gradients(rows, clip=1.0)
    np.testing.assert_allclose(clipped, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]], atol=1e-6)


def test_clipped_gradients_bound_every_norm_and_keep_directions() -> None:
    rows = torch.randn(16, 50, generator=torch.Generator().manual_seed(0)) * 3
    clipped = key.clipped_gradients(rows, clip=0.5)
    norms = np.linalg.norm(clipped, axis=1)
    assert np.all(norms <= 0.5 + 1e-6)
    cosines = (clipped * rows.double().numpy()).sum(axis=1) / (
        norms * rows.double().norm(dim=1).numpy()
    )
    np.testing.assert_allclose(cosines, 1.0, atol=1e-9)


@pytest.mark.parametrize(
    ("rows", "clip", "message"),
    [
        (np.ones(3), 1.0, "must be 2-D"),
        (np.ones((2, 3)), 0.0, "clip must be positive"),
        (np.ones((2, 3)), float("nan"), "clip must be positive"),
    ],
)
def test_clipped_gradients_reject_bad_input(
    rows: np.ndarray, clip: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        key.clipped_gradients(rows, clip)
