"""Pictures as ``<img>`` tags with alt text (PNG in a data URI, no files needed)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from PIL import Image

from synthbook.plotting import digit_grid


def image_html(
    pixels: np.ndarray, alt: str, *, scale: int = 3, invert: bool = True
) -> str:
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


def png_data_uri(frame: Mapping[str, Any]) -> str:
    """Encode a frame's picture as a PNG data URI (``{"png": bytes}`` or ``{"image": a}``).

    A 2-D grey array (floats in ``[0, 1]`` or ``uint8``) is drawn as dark ink
    on a light page, as in the book's figures; colour arrays are taken as they are.
    """
    if "png" in frame:
        payload = bytes(frame["png"])
    elif "image" in frame:
        array = np.asarray(frame["image"])
        if array.dtype != np.uint8:
            if not np.isfinite(array).all():
                raise ValueError("a frame's image holds NaN or infinite values")
            array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
        if array.ndim == 2:
            array = 255 - array  # dark ink on a light page, as in the figures
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG", optimize=True)
        payload = buffer.getvalue()
    else:
        raise ValueError("each frame needs a 'png' (bytes) or an 'image' (array)")
    return "data:image/png;base64," + base64.b64encode(payload).decode()
