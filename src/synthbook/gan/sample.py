"""Drawing digits from a trained generator: noise, labels, blends.

Every function returns images as ``float32`` tensors of shape ``(N, 28, 28)``
in ``[0, 1]`` (white digit on black, as in MNIST), and never touches the
global random number generator.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from synthbook.gan.models import as_label_weights, to_unit_range
from synthbook.validate import (
    check_count,
    check_digit,
    check_finite,
    check_number,
    check_seed,
)


def class_labels(per_class: int) -> torch.Tensor:
    """Return the digits 0 to 9, each repeated ``per_class`` times (int64).

    ``class_labels(2)`` is ``tensor([0, 0, 1, 1, ..., 9, 9])``: the labels for a
    class-balanced sample, digit by digit.
    """
    n = check_count("per_class", per_class, minimum=0)
    return torch.arange(10).repeat_interleave(n)


def sample_latents(
    n: int,
    latent_dim: int,
    seed: int = 0,
    truncation: float | None = None,
    noise_scale: float = 1.0,
) -> torch.Tensor:
    """Draw ``n`` noise vectors from a seeded local generator.

    Parameters
    ----------
    n, latent_dim : int
        How many vectors, and their length.
    seed : int, default 0
    truncation : float, optional
        Redraw coordinates whose absolute value is above this threshold (the
        "truncation trick" of Brock et al. 2019): smaller means more typical
        digits and less variety. None: no truncation.
    noise_scale : float, default 1.0
        Multiply the noise: above 1 reaches regions rarely seen in training
        ("edge cases"), below 1 stays near the most typical digits.

    Returns
    -------
    torch.Tensor
        ``(n, latent_dim)``.

    Raises
    ------
    TypeError, ValueError
        If an argument is not a finite number in range (the message names it).
    """
    n = check_count("n", n, minimum=0)
    latent_dim = check_count("latent_dim", latent_dim, minimum=1)
    seed = check_seed("seed", seed)
    if truncation is not None:
        truncation = check_number(
            "truncation", truncation, minimum=0.0, inclusive=(False, True)
        )
    noise_scale = check_number("noise_scale", noise_scale, minimum=0.0)
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latent_dim, generator=rng)
    if truncation is not None:
        for _ in range(100):
            outside = z.abs() > truncation
            if not outside.any():
                break
            z[outside] = torch.randn(int(outside.sum()), generator=rng)
        # tiny thresholds may never be met by redrawing
        z = z.clamp(-truncation, truncation)
    return z * noise_scale


def _label_tensor(labels: object, n: int | None) -> torch.Tensor:
    if isinstance(labels, (str, bytes)):
        raise TypeError(
            f"labels must be a digit 0 to 9 (an int such as 3) or several digits, "
            f"got the string {labels!r}; write {labels!s} without quotes"
            if isinstance(labels, str) and labels.strip().isdigit()
            else f"labels must be a digit 0 to 9 or several digits, got the string "
            f"{labels!r}"
        )
    if isinstance(labels, bool):
        raise TypeError("labels must be a digit 0 to 9 or several digits, got a bool")
    if isinstance(labels, numbers.Real) and not isinstance(labels, numbers.Integral):
        raise TypeError(
            f"labels: the digit must be a whole number (an int such as 3), got "
            f"{labels!r}; for blends of digits pass a (N, 10) matrix of label weights"
        )
    if isinstance(labels, numbers.Integral):
        digit = check_digit("labels", labels)
        if n is None:
            raise ValueError(
                "n: with a single digit, give how many samples to generate (n >= 1)"
            )
        count = check_count("n", n, minimum=1)
        return torch.full((count,), digit, dtype=torch.int64)
    if n is not None:
        raise ValueError(
            f"n={n!r} is only for a single digit (labels=3, n=5); with several labels "
            "or label weights you get one image per label, so leave n out"
        )
    tensor = labels if torch.is_tensor(labels) else torch.as_tensor(np.asarray(labels))
    if tensor.is_floating_point():
        check_finite("labels", tensor)
    else:
        tensor = tensor.long()
    return tensor


def generate(
    generator: nn.Module,
    labels: int | Sequence[int] | torch.Tensor | np.ndarray,
    n: int | None = None,
    *,
    seed: int = 0,
    truncation: float | None = None,
    noise_scale: float = 1.0,
    z: torch.Tensor | None = None,
) -> torch.Tensor:
    """Generate digits: ``n`` of one label, or one per label given.

    Parameters
    ----------
    generator : Generator
        Put in eval mode for the call (and restored afterwards).
    labels : int, sequence of int, or tensor
        A digit (then ``n`` samples of it), a sequence or int tensor of digits
        (one sample each), or a float ``(N, 10)`` matrix of label weights
        (blends of digits).
    n : int, optional
        Number of samples when ``labels`` is a single digit.
    seed, truncation, noise_scale
        See :func:`sample_latents`.
    z : torch.Tensor, optional
        Use these noise vectors, ``(N, latent_dim)``, instead of sampling
        (``seed``, ``truncation`` and ``noise_scale`` are then ignored).

    Returns
    -------
    torch.Tensor
        ``float32``, ``(N, 28, 28)`` in ``[0, 1]``, white digit on black.

    Raises
    ------
    TypeError, ValueError
        For a digit that is not a whole number from 0 to 9, label weights or
        noise that are not finite or of the wrong shape, or a knob out of
        range; the message names the argument.
    """
    label_tensor = _label_tensor(labels, n)
    as_label_weights(label_tensor)  # validates shape and range
    count = len(label_tensor)
    if count < 1:
        raise ValueError("labels: none given, so there is nothing to generate")
    if z is None:
        z = sample_latents(
            count,
            generator.latent_dim,
            seed=seed,
            truncation=truncation,
            noise_scale=noise_scale,
        )
    else:
        z = torch.as_tensor(z)
        expected = (count, generator.latent_dim)
        if tuple(z.shape) != expected:
            raise ValueError(
                f"z must have shape {expected} (one row per label), got {tuple(z.shape)}"
            )
        check_finite("z", z)
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        images = to_unit_range(generator(z.float(), label_tensor))
    generator.train(was_training)
    return images.clamp(0.0, 1.0).float()


def interpolate(
    generator: nn.Module,
    *,
    z_start: torch.Tensor | None = None,
    z_end: torch.Tensor | None = None,
    label_start: int,
    label_end: int,
    steps: int = 8,
    seed: int = 0,
) -> torch.Tensor:
    """Walk in a straight line between two (noise, label) points.

    The label moves as a linear mix of the two one-hot vectors. Noise vectors
    that are not given are drawn from ``seed``: leave both out to blend labels
    only (same noise throughout), or give the same label twice to move through
    noise only.

    Returns
    -------
    torch.Tensor
        ``(steps, 28, 28)`` images in ``[0, 1]`` from start to end.
    """
    steps = check_count("steps", steps, minimum=2)
    label_start = check_digit("label_start", label_start)
    label_end = check_digit("label_end", label_end)
    base = sample_latents(2, generator.latent_dim, seed=seed)
    start = base[0] if z_start is None else torch.as_tensor(z_start).reshape(-1)
    if z_end is not None:
        end = torch.as_tensor(z_end).reshape(-1)
    else:
        end = start if z_start is None else base[1]
    for name, vector in (("z_start", start), ("z_end", end)):
        if vector.numel() != generator.latent_dim:
            raise ValueError(
                f"{name} must have {generator.latent_dim} values, got {vector.numel()}"
            )
        check_finite(name, vector)
    weights = torch.linspace(0.0, 1.0, steps).view(-1, 1)
    z = (1 - weights) * start + weights * end
    labels = torch.zeros(steps, 10)
    labels[:, label_start] += 1 - weights.view(-1)
    labels[:, label_end] += weights.view(-1)
    return generate(generator, labels, z=z)
