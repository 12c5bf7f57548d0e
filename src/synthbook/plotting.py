"""Figures shared by several chapters: digit grids and small-multiples."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Okabe-Ito: distinguishable with the common forms of colour blindness.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
)

#: What a figure of digits shows; every such figure says which (the book's subject is
#: data that pass "as though" real, so the reader must always be told).
PROVENANCE: dict[str, str] = {
    "real": "real digits",
    "synthetic": "synthetic digits",
    "mixed": "real and synthetic digits",
}
_PROVENANCE_COLOURS = {"real": "#0072B2", "synthetic": "#D55E00", "mixed": "#CC79A7"}


def label_provenance(ax: Axes, provenance: str) -> None:
    """Write a small tag ("real digits", "synthetic digits", ...) above ``ax``'s corner.

    Raises
    ------
    ValueError
        If ``provenance`` is not one of :data:`PROVENANCE`.
    """
    if provenance not in PROVENANCE:
        raise ValueError(
            f"provenance must be one of {', '.join(map(repr, PROVENANCE))}, "
            f"got {provenance!r}"
        )
    ax.text(
        1.0,
        1.01,
        PROVENANCE[provenance].upper(),
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        fontweight="bold",
        color="white",
        bbox={
            "boxstyle": "round,pad=0.25",
            "fc": _PROVENANCE_COLOURS[provenance],
            "ec": "none",
        },
    )


def digit_grid(
    images: torch.Tensor | np.ndarray, nrow: int = 10, padding: int = 2
) -> np.ndarray:
    """Tile ``(N, H, W)`` images in ``[0, 1]`` into one 2-D array, ``nrow`` per row.

    The layout is torchvision's ``make_grid``'s: ``padding`` pixels of
    background (0) around every tile, so tiles read as separate digits.
    (Written with NumPy so that drawing digits does not import torchvision.)
    """
    array = np.asarray(images, dtype=np.float32)
    if array.ndim != 3:
        raise ValueError(f"expected images of shape (N, H, W), got {array.shape}")
    count, height, width = array.shape
    columns = max(1, min(nrow, count))
    rows = max(1, -(-count // columns))
    cell_h, cell_w = height + padding, width + padding
    grid = np.zeros((rows * cell_h + padding, columns * cell_w + padding), np.float32)
    for i in range(count):
        top = (i // columns) * cell_h + padding
        left = (i % columns) * cell_w + padding
        grid[top : top + height, left : left + width] = array[i]
    return grid


def show_digits(
    images: torch.Tensor | np.ndarray,
    *,
    nrow: int = 10,
    ax: Axes | None = None,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
    provenance: str | None = None,
) -> Figure:
    """Draw a grid of digits as dark ink on a light page.

    Parameters
    ----------
    images : array of shape (N, 28, 28)
        Values in ``[0, 1]``, white digit on black as stored in MNIST.
    nrow : int, default 10
        Digits per row.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional
        Axes title.
    row_labels : sequence of str, optional
        One label per row, written at the left.
    provenance : {"real", "synthetic", "mixed"}, optional
        Tag the grid with what it shows (see :func:`label_provenance`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = digit_grid(images, nrow=nrow)
    if ax is None:
        n_rows = int(np.ceil(len(images) / nrow))
        _, ax = plt.subplots(figsize=(0.45 * nrow + 0.6, 0.45 * n_rows + 0.4))
    # Inverted grey map: dark ink on a light background reads and prints better.
    ax.imshow(grid, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        step = 28 + 2
        ax.set_yticks([2 + 14 + i * step for i in range(len(row_labels))])
        ax.set_yticklabels(row_labels)
        ax.tick_params(left=False)
    else:
        ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    if provenance is not None:
        label_provenance(ax, provenance)
    return ax.figure


def per_class_examples(
    images: torch.Tensor, labels: torch.Tensor, per_class: int, seed: int = 0
) -> torch.Tensor:
    """Pick ``per_class`` random images of each digit, ordered digit by digit."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for digit in range(10):
        idx = torch.nonzero(labels == digit).flatten()
        if len(idx) < per_class:
            raise ValueError(
                f"digit {digit} has only {len(idx)} images, fewer than {per_class}"
            )
        pick = idx[torch.randperm(len(idx), generator=generator)[:per_class]]
        rows.append(images[pick])
    return torch.cat(rows)
