"""Long tails on purpose: make a digit (or a style) rare, measure style, perturb.

Several chapters make part of the real training data rare and ask what filling
it back does: *Variability, exposure and the odd* (six ways to refill a rare
digit), *Too real* and *Differential privacy* (what a GAN trained on a few rare
images keeps of them), *Fix the data* and *Precision and portability*. They
share these pieces, and the GAN trained on the book's long tail
(:func:`load_or_train_tail_gan`), so that its cache entry is one.
Everything is seeded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from synthbook import gan, validate
from synthbook.data import MnistData

#: The book's long tail: the digit made rare, and how many of its images are kept.
RARE_DIGIT = 8
KEEP = 12
#: Steps of the GAN trained on the long tail. With only 12 images of the rare digit
#: it becomes legible to the judge late and unevenly (seed 0, width 128: GAN-test
#: 0.53 at 1,500 steps, 0.79 at 2,000, 0.55 at 2,500, 0.81 at 3,000), so the tail
#: GAN keeps 3,000 steps; ``python -m synthbook bench tails`` prints the curve.
TAIL_GAN_STEPS = 3000
DIGITS = tuple(range(10))
STYLE_MEASURES = ("slant", "ink")


def _check_digits(digits: Sequence[int]) -> tuple[int, ...]:
    return validate.check_digits("rare_digits", digits)


def make_long_tail(
    data: MnistData, rare_digits: int | Sequence[int], keep: int | float, seed: int = 0
) -> MnistData:
    """Keep only a few images of the rare digit(s) and all images of the others.

    Parameters
    ----------
    data : MnistData
        The (real) training data.
    rare_digits : int or sequence of int
        Which digit(s) to make rare.
    keep : int or float
        How many images of each rare digit to keep: a count (int >= 1), or a
        fraction of that digit's images (float in (0, 1]).
    seed : int, default 0
        Which images are kept is random, and seeded.

    Returns
    -------
    MnistData
        The long-tailed data, in the original order.
    """
    return data.subset(long_tail_indices(data, rare_digits, keep, seed))


def long_tail_indices(
    data: MnistData, rare_digits: int | Sequence[int], keep: int | float, seed: int = 0
) -> np.ndarray:
    """Return the positions in ``data`` that :func:`make_long_tail` keeps, sorted."""
    digits = _check_digits(
        [rare_digits] if isinstance(rare_digits, int | np.integer) else rare_digits
    )
    labels = data.labels.numpy()
    rng = np.random.default_rng(seed)
    keep_mask = ~np.isin(labels, digits)
    for digit in digits:
        pool = np.flatnonzero(labels == digit)
        count = _resolve_keep(keep, len(pool), digit)
        keep_mask[rng.choice(pool, count, replace=False)] = True
    return np.flatnonzero(keep_mask)


def _resolve_keep(keep: int | float, available: int, digit: int) -> int:
    if isinstance(keep, bool):
        raise ValueError("keep must be a count or a fraction, not a bool")
    if isinstance(keep, int | np.integer):
        if not 1 <= keep <= available:
            raise ValueError(
                f"cannot keep {keep} images of digit {digit}: it has {available}; "
                f"choose 1 to {available}, or a fraction in (0, 1]"
            )
        return int(keep)
    if not 0.0 < float(keep) <= 1.0:
        raise ValueError(f"a fraction to keep must be in (0, 1], got {keep}")
    return max(1, round(float(keep) * available))


def style_scores(images: torch.Tensor, measure: str) -> np.ndarray:
    """Measure a writing style per image.

    ``"slant"`` is the shear implied by the image's second moments
    (``mu11 / mu02``, the quantity classic deskewing removes): positive leans
    right. ``"ink"`` is the total ink (sum of pixel values): heavy strokes score high.
    """
    if measure not in STYLE_MEASURES:
        raise ValueError(
            f"unknown style measure {measure!r}: use one of {STYLE_MEASURES}"
        )
    images = torch.as_tensor(images).reshape(-1, 28, 28)
    # A thousand images at a time: float64 copies of a large pool would otherwise
    # hold a few hundred megabytes at once.
    return np.concatenate(
        [
            _style_chunk(images[i : i + 1000], measure)
            for i in range(0, len(images), 1000)
        ]
        or [np.empty(0)]
    )


def _style_chunk(images: torch.Tensor, measure: str) -> np.ndarray:
    x = images.to(torch.float64)
    mass = x.sum(dim=(1, 2)).clamp_min(1e-9)
    if measure == "ink":
        return mass.numpy()
    rows = torch.arange(28, dtype=torch.float64).view(1, 28, 1)
    cols = torch.arange(28, dtype=torch.float64).view(1, 1, 28)
    mean_r = (x * rows).sum(dim=(1, 2)) / mass
    mean_c = (x * cols).sum(dim=(1, 2)) / mass
    dr = rows - mean_r.view(-1, 1, 1)
    dc = cols - mean_c.view(-1, 1, 1)
    mu11 = (x * dr * dc).sum(dim=(1, 2)) / mass
    mu02 = (x * dr * dr).sum(dim=(1, 2)) / mass
    # Rows grow downwards, so a right lean (top to the right) gives mu11 < 0.
    return (-mu11 / mu02.clamp_min(1e-9)).numpy()


def make_style_tail(
    data: MnistData, measure: str, quantile: float = 0.9, keep: int = 10, seed: int = 0
) -> tuple[MnistData, float]:
    """Make a *style* rare: keep only ``keep`` images above a quantile of a measure.

    Returns
    -------
    (MnistData, float)
        The long-tailed data and the threshold that defines "odd" style.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be strictly between 0 and 1, got {quantile}")
    scores = style_scores(data.images, measure)
    threshold = float(np.quantile(scores, quantile))
    odd = np.flatnonzero(scores > threshold)
    if not 0 <= keep <= len(odd):
        raise ValueError(
            f"keep must be between 0 and {len(odd)} (images above the quantile)"
        )
    rng = np.random.default_rng(seed)
    kept = rng.choice(odd, keep, replace=False)
    mask = scores <= threshold
    mask[kept] = True
    return data.subset(np.flatnonzero(mask)), threshold


def perturb(images: torch.Tensor, count: int, seed: int = 0) -> torch.Tensor:
    """Classic synthetic perturbations: random affine and elastic distortions.

    Each output is a randomly chosen input image, shifted, rotated, scaled,
    sheared and elastically warped (Simard et al. 2003). This is the
    "synthetic perturbation" baseline that involves no generative model.

    Parameters
    ----------
    images : torch.Tensor
        ``(N, 28, 28)`` source images in ``[0, 1]``.
    count : int
        How many perturbed images to make (>= 0).
    seed : int, default 0
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if len(images) == 0 and count > 0:
        raise ValueError("no source images to perturb")
    # Imported here, not at the top: torchvision adds about 180 MB to a kernel, and
    # most chapters that make tails never perturb.
    import torchvision.transforms.v2 as transforms

    pipeline = transforms.Compose(
        [
            transforms.RandomAffine(
                degrees=12, translate=(0.08, 0.08), scale=(0.9, 1.1), shear=8
            ),
            transforms.ElasticTransform(alpha=12.0, sigma=4.0),
        ]
    )
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(images), (count,), generator=generator) if count else []
    out = torch.empty(count, 28, 28)
    # torchvision draws its random parameters from the global generator; fork it
    # so perturbing leaves the caller's random state untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i, pick in enumerate(picks):
            # v2 transforms draw one set of parameters per call: call per image.
            out[i] = pipeline(images[int(pick)].unsqueeze(0))[0]
    return out.clamp(0.0, 1.0)


def load_or_train_tail_gan(
    train: MnistData,
    *,
    rare_digit: int = RARE_DIGIT,
    keep: int = KEEP,
    seed: int = 0,
    steps: int = TAIL_GAN_STEPS,
    progress: bool = True,
) -> gan.TrainResult:
    """Return the GAN trained on the long tail of ``train`` for this seed (cached).

    The tail is :func:`make_long_tail`
    of ``train`` with ``keep`` images of ``rare_digit``, chosen by ``seed``;
    the GAN sees nothing else. Every chapter that needs the tail GAN of seed 0
    (and ``python -m synthbook prepare``) calls this function, so they share
    one cache entry.
    """
    tail = make_long_tail(train, rare_digit, keep, seed=seed)
    return gan.load_or_train(
        tail, gan.GANConfig(), steps=steps, seed=seed, progress=progress
    )
