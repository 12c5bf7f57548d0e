"""Shocks for a trained classifier: the same real test digits, written differently.

Recall on the test split as collected measures how well a classifier knows the
digits it was meant to know. Resilience, in the sense the chapter discusses, is
about what happens when the world shifts. These functions shift the real test
digits in two ways, each applied to every test image:

- ``"slanted"``: every digit leans further to the right (a shear). Classic
  augmentation (:func:`~synthbook.chapters.variability.tails.perturb`)
  shears and rotates its images a little, so this is a shock it anticipates
  in kind, though not in size.
- ``"thickened"``: every stroke is drawn with a broader pen (grey-scale
  dilation). No strategy of the chapter thickens strokes on purpose.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from synthbook.data import MnistData
from synthbook.validate import check_count, check_number

#: The test sets every classifier of the experiment is scored on.
TEST_SETS: tuple[str, ...] = ("as collected", "slanted", "thickened")
#: Extra lean of the slanted test digits, in degrees of shear (top to the right).
SLANT_DEGREES = 20.0
#: Pixels added to each side of every stroke in the thickened test digits.
THICKEN_PIXELS = 1


def slant(images: torch.Tensor, degrees: float = SLANT_DEGREES) -> torch.Tensor:
    """Shear ``(N, 28, 28)`` images so that their tops move right by ``tan(degrees)``.

    The shear is about the image centre (bilinear interpolation), so a digit
    stays where it was and only leans further; negative degrees lean it left.
    """
    angle = check_number("degrees", degrees, minimum=-60.0, maximum=60.0)
    x = torch.as_tensor(images).reshape(-1, 1, 28, 28).float()
    # A positive x-shear in torchvision moves the top rows to the right: the
    # lean the book's slant measure counts as positive (tests check the sign).
    out = TF.affine(
        x,
        angle=0.0,
        translate=[0, 0],
        scale=1.0,
        shear=[angle, 0.0],
        interpolation=TF.InterpolationMode.BILINEAR,
    )
    return out.reshape(-1, 28, 28).clamp(0.0, 1.0)


def thicken(images: torch.Tensor, pixels: int = THICKEN_PIXELS) -> torch.Tensor:
    """Broaden every stroke by ``pixels`` on each side (grey-scale dilation).

    Each output pixel is the brightest input pixel within a square of side
    ``2 * pixels + 1`` around it; ``pixels=0`` returns the images unchanged.
    """
    size = check_count("pixels", pixels, minimum=0, maximum=5)
    x = torch.as_tensor(images).reshape(-1, 1, 28, 28).float()
    if size:
        x = F.max_pool2d(x, kernel_size=2 * size + 1, stride=1, padding=size)
    return x.reshape(-1, 28, 28)


def shifted_tests(
    test: MnistData,
    *,
    slant_degrees: float = SLANT_DEGREES,
    thicken_pixels: int = THICKEN_PIXELS,
) -> dict[str, MnistData]:
    """Return the test split as collected, slanted and thickened (same labels).

    The keys are :data:`TEST_SETS`; every set holds the same real test digits
    in the same order, so a classifier's scores on the three are paired.
    """
    return {
        "as collected": test,
        "slanted": MnistData(slant(test.images, slant_degrees), test.labels, "slanted"),
        "thickened": MnistData(
            thicken(test.images, thicken_pixels), test.labels, "thickened"
        ),
    }
