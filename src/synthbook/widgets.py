"""Widgets that work live in Jupyter and still show something in the static book.

Images are sent as ``<img>`` tags with alt text inside an ``ipywidgets.HTML``
(not ``ipywidgets.Image``, which has no alt attribute), so that a screen reader
can describe them and the static book renders them from saved widget state.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import torch
from PIL import Image

from synthbook.plotting import digit_grid


def image_html(pixels: np.ndarray, alt: str, *, scale: int = 3, invert: bool = True) -> str:
    """Encode a 2-D array in ``[0, 1]`` as an ``<img>`` tag with alt text.

    Parameters
    ----------
    pixels : numpy.ndarray
        2-D grey-scale image, values in ``[0, 1]``.
    alt : str
        What the image shows, for readers who cannot see it. Must not be empty.
    scale : int, default 3
        Integer upscaling (nearest neighbour keeps the pixels crisp).
    invert : bool, default True
        Draw dark ink on a light background, as the book's figures do.
    """
    if not alt.strip():
        raise ValueError("alt text must describe the image; it cannot be empty")
    array = np.clip(np.asarray(pixels, dtype=np.float32), 0.0, 1.0)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {array.shape}")
    if invert:
        array = 1.0 - array
    image = Image.fromarray((array * 255).round().astype(np.uint8), mode="L")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def digits_html(
    images: torch.Tensor | np.ndarray, alt: str, *, nrow: int = 10, scale: int = 2
) -> str:
    """Tile digits ``(N, 28, 28)`` into one image and return it as an ``<img>`` tag."""
    return image_html(digit_grid(images, nrow=nrow), alt, scale=scale)
