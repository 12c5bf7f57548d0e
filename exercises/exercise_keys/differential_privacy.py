"""Answer key of the exercises on *A defence with a price: differential privacy*."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from exercise_keys.common import as_tensor
from synthbook import checks
from synthbook.chapters import differential_privacy
from synthbook.data import Splits


def clipped_gradients(per_example: Any, clip: float) -> np.ndarray:
    """Return every row of ``per_example`` clipped to norm at most ``clip``, as DP-SGD does.

    Each row goes through ``torch.nn.utils.clip_grad_norm_`` on its own (a
    different route from scaling all rows at once), in float64.

    Raises
    ------
    ValueError
        If ``per_example`` is not 2-D or ``clip`` is not positive.
    """
    rows = as_tensor(per_example)
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


def check_task_1(
    *, per_example: torch.Tensor, clip: float, clipped: Any, clipped_sum: Any
) -> None:
    """Check Task 1: per-example gradients clipped, and their sum."""
    reference = clipped_gradients(per_example, clip)
    checks.check_shape("clipped", clipped, tuple(per_example.shape))
    checks.check_close(
        "clipped",
        clipped,
        reference,
        rtol=1e-4,
        atol=1e-7,
        hint="Scale each row by min(1, clip / its norm); do not touch short rows.",
    )
    checks.check_close(
        "clipped_sum",
        clipped_sum,
        reference.sum(axis=0),
        rtol=1e-4,
        atol=1e-6,
        hint="Sum the clipped rows over the batch (dim=0).",
    )


def check_task_2(
    *,
    per_example: torch.Tensor,
    noise_multiplier: float,
    clip: float,
    noise_length: Any,
    largest_signal: Any,
    batch_to_match: Any,
) -> None:
    """Check Task 2: the noise's length, the longest signal, the batch that matches."""
    # 200 noise vectors drawn one at a time: all at once they would hold
    # 200 x d floats, twice (about 860 MB for the book's discriminator).
    generator = torch.Generator().manual_seed(1)
    lengths = [
        float(torch.randn(per_example.shape[1], generator=generator).norm())
        for _ in range(200)
    ]
    simulated = noise_multiplier * clip * float(np.mean(lengths))
    checks.check_close(
        "noise_length",
        noise_length,
        simulated,
        rtol=0.01,
        hint="The noise has one coordinate per weight: d = per_example.shape[1].",
    )
    checks.check_close(
        "largest_signal",
        largest_signal,
        8 * clip,
        atol=1e-9,
        hint="Eight clipped gradients, each at most `clip` long, all aligned.",
    )
    # B * clip >= noise_multiplier * clip * sqrt(d)  <=>  B >= noise_multiplier * sqrt(d)
    checks.check_equal(
        "batch_to_match",
        batch_to_match,
        math.ceil(noise_multiplier * math.sqrt(per_example.shape[1])),
        hint="Solve B * clip >= noise_length for the smallest integer B.",
    )


def check_task_3(*, ceiling: Callable[..., Any], ceilings: Any) -> None:
    """Check Task 3: the area under the best ROC curve epsilon and delta allow."""
    checks.check_close(
        "ceilings",
        ceilings,
        [differential_privacy.auc_ceiling(eps, 1e-5) for eps in (0.5, 1, 2, 4)],
        atol=1e-4,
        hint="Take the smaller of the two bounds, keep it between x and 1, and "
        "integrate over x from 0 to 1.",
    )
    # With delta = 0 the area has a closed form: the logistic function of epsilon.
    checks.check_close(
        "ceiling(1, 0)", ceiling(1.0, 0.0), 1 / (1 + math.exp(-1.0)), atol=1e-4
    )


def check_task_4(
    *,
    splits: Splits,
    sigma_4: Any,
    sigma_2: Any,
    growth: Any,
    prediction: Any,
) -> None:
    """Check Task 4: noise multipliers at two budgets, and how the noise grows."""
    rate = 64 / len(splits.train)
    reference = {
        eps: differential_privacy.noise_multiplier_for(
            differential_privacy.DPSettings(eps), sample_rate=rate, steps=1000
        )
        for eps in (4.0, 2.0)
    }
    checks.check_close(
        "sigma_4",
        sigma_4,
        reference[4.0],
        rtol=1e-6,
        hint="Use the sampling rate 64 / len(splits.train) and steps=1000.",
    )
    checks.check_close("sigma_2", sigma_2, reference[2.0], rtol=1e-6)
    true_growth = reference[2.0] / reference[4.0]
    checks.check_close("growth", growth, true_growth, rtol=1e-6)
    key = "a" if abs(true_growth - 2) < 0.05 else ("b" if true_growth < 2 else "c")
    checks.check_choice(
        "prediction",
        prediction,
        correct=key,
        feedback=_growth_feedback(true_growth),
    )


def _growth_feedback(true_growth: float) -> dict[str, str]:
    return {
        "a": f"the noise grows x{true_growth:.2f} here: privacy accounting over many "
        "noisy, subsampled steps is not a simple inverse proportion.",
        "b": f"x{true_growth:.2f}: less noise is needed per unit of epsilon at larger "
        "budgets, because subsampling and composition over steps bend the relation.",
        "c": f"the noise grows x{true_growth:.2f}, less than twofold, at these budgets.",
    }
