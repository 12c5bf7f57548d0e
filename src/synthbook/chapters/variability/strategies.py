"""The ways of filling a rare digit that the chapter compares.

Long tails themselves (and classic perturbation) are made by
:mod:`synthbook.tails`, which other chapters share.
"""

from __future__ import annotations

import torch

from synthbook import gan
from synthbook.data import MnistData
from synthbook.tails import DIGITS, perturb
from synthbook.validate import check_count, check_digit

# --------------------------------------------------------------------------
# Ways to fill a tail
# --------------------------------------------------------------------------

STRATEGIES: tuple[str, ...] = (
    "none",
    "oversample",
    "perturb",
    "gan",
    "gan-edge",
    "gan-interp",
    "perturb+gan",
)
#: Every strategy that adds images: all but "none", in the same order.
ADDING_STRATEGIES: tuple[str, ...] = tuple(s for s in STRATEGIES if s != "none")
#: The strategies whose images no one wrote (the others add nothing or copies).
SYNTHETIC: tuple[str, ...] = ("perturb", "gan", "gan-edge", "gan-interp", "perturb+gan")
EDGE_NOISE_SCALE = 2.0
MAX_BLEND = 0.4


def nearest_other_class(data: MnistData, digit: int) -> int:
    """Return the digit whose mean image is closest (Euclidean) to ``digit``'s.

    Computed from the data, so "confusable" is a measured property, not a guess.
    """
    means = torch.stack([data.images[data.labels == d].mean(dim=0) for d in DIGITS])
    distances = (means - means[digit]).flatten(1).norm(dim=1)
    distances[digit] = float("inf")
    return int(distances.argmin())


def synthesize(
    strategy: str,
    data: MnistData,
    digit: int,
    amount: int,
    *,
    seed: int = 0,
    generator: torch.nn.Module | None = None,
) -> torch.Tensor:
    """Make ``amount`` new training images of ``digit`` with one strategy.

    Parameters
    ----------
    strategy : str
        One of :data:`STRATEGIES`. ``"a+b"`` makes half of the amount with a
        and half with b, each exactly as ``a`` or ``b`` alone would make that
        many (same seed): ``"perturb+gan"`` with 2n images is the n images of
        ``"perturb"`` with the n images of ``"gan"`` on top.
    data : MnistData
        The long-tailed training data: the only real images a strategy may use.
    digit : int
        The rare digit to add images of.
    amount : int
        How many images to add (>= 0).
    seed : int, default 0
    generator : torch.nn.Module, optional
        A conditional generator trained on ``data``; required by the GAN strategies.

    Returns
    -------
    torch.Tensor
        ``(amount, 28, 28)`` images in ``[0, 1]``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}"
        )
    amount = check_count("amount", amount)
    check_digit("digit", digit)
    real = data.images[data.labels == digit]
    if strategy == "none" or amount == 0:
        return torch.empty(0, 28, 28)
    if "+" in strategy:
        first, second = strategy.split("+")
        half = amount // 2
        return torch.cat(
            [
                synthesize(first, data, digit, half, seed=seed, generator=generator),
                synthesize(
                    second, data, digit, amount - half, seed=seed, generator=generator
                ),
            ]
        )
    if strategy == "oversample":
        picks = torch.randint(
            len(real), (amount,), generator=torch.Generator().manual_seed(seed)
        )
        return real[picks].clone()
    if strategy == "perturb":
        return perturb(real, amount, seed=seed)
    if generator is None:
        raise ValueError(f"strategy {strategy!r} needs a trained generator")
    if strategy == "gan":
        return gan.generate(generator, digit, amount, seed=seed)
    if strategy == "gan-edge":
        return gan.generate(
            generator, digit, amount, seed=seed, noise_scale=EDGE_NOISE_SCALE
        )
    # gan-interp: blend the label toward the most confusable digit, keep the rare label.
    other = nearest_other_class(data, digit)
    weights = (
        torch.rand(amount, generator=torch.Generator().manual_seed(seed)) * MAX_BLEND
    )
    labels = torch.zeros(amount, 10)
    labels[:, digit] = 1.0 - weights
    labels[:, other] = weights
    return gan.generate(generator, labels, seed=seed)
