"""The generator panel: the book's generator, redrawn in the reader's browser.

:func:`render` is the reference in Python; :class:`GeneratorWidget` is an
anywidget whose front end (``generator.mjs``) runs the same generator, exported
by :mod:`synthbook.widgets.export`, in JavaScript. Every knob redraws in the
browser with no kernel round trip, so the panel works in JupyterLab and, from
its saved widget state, in the static book (see ``_config.yml``: anywidget's
front end is served from ``_static/vendor/`` like the other widget JavaScript).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anywidget
import matplotlib.pyplot as plt
import numpy as np
import torch
import traitlets as t

from synthbook import gan
from synthbook.plotting import digit_grid
from synthbook.validate import check_digit, check_number, check_probability
from synthbook.widgets import export

#: The front end: one dependency-free ES module.
MODULE = Path(__file__).with_name("generator.mjs")
#: The noise scale, truncation and shift sliders' ranges.
NOISE_MAX, TRUNCATION_MAX, SHIFT_MAX = 3.0, 3.0, 3.0
SHIFTS = 3


def _optional_digit(name: str, value: Any) -> int | None:
    return None if value is None else check_digit(name, value)


def render(
    generator: torch.nn.Module,
    *,
    digit: int = 8,
    blend_toward: int | None = None,
    blend: float = 0.0,
    seed: int = 0,
    noise_scale: float = 1.0,
    truncation: float = 0.0,
    shifts: Sequence[float] = (0.0, 0.0, 0.0),
    count: int = export.BANK_SAMPLES,
) -> np.ndarray:
    """Generate ``count`` digits for one setting of the knobs; return them tiled.

    A pure function of its arguments, and the reference the browser matches:
    the noise of seeds 0 to 99 is the bank the page carries, so "seed 7" is the
    same eight digits here and in the panel.

    Parameters
    ----------
    generator : torch.nn.Module
        A conditional generator from :mod:`synthbook.gan`.
    digit : int
        The requested digit.
    blend_toward : int, optional
        A second digit; ``blend`` in ``[0, 1]`` mixes the two labels.
    blend : float
        0 asks for ``digit``, 1 for ``blend_toward``.
    seed : int
        Which noise vectors (see :func:`synthbook.widgets.export.latents`).
    noise_scale : float
        Multiplies the noise (> 1: low-density "edge cases").
    truncation : float
        Truncate the noise to ``[-truncation, truncation]``; 0 means none.
    shifts : sequence of float
        Added to the first ``len(shifts)`` noise coordinates.
    count : int
        How many samples to draw.

    Returns
    -------
    numpy.ndarray
        The tiled grey-scale image, values in ``[0, 1]``.
    """
    images = render_images(
        generator,
        digit=digit,
        blend_toward=blend_toward,
        blend=blend,
        seed=seed,
        noise_scale=noise_scale,
        truncation=truncation,
        shifts=shifts,
        count=count,
    )
    return digit_grid(images, nrow=len(images))


def render_images(
    generator: torch.nn.Module,
    *,
    digit: int = 8,
    blend_toward: int | None = None,
    blend: float = 0.0,
    seed: int = 0,
    noise_scale: float = 1.0,
    truncation: float = 0.0,
    shifts: Sequence[float] = (0.0, 0.0, 0.0),
    count: int = export.BANK_SAMPLES,
) -> torch.Tensor:
    """Like :func:`render`, but return the ``(count, 28, 28)`` images untiled."""
    digit = check_digit("digit", digit)
    toward = _optional_digit("blend_toward", blend_toward)
    blend = check_probability("blend", blend)
    z = export.latents(
        export.latent_dim(generator),
        seed=seed,
        count=count,
        noise_scale=noise_scale,
        truncation=truncation,
        shifts=shifts,
    )
    labels = export.label_weights(digit, toward, blend, len(z))
    return gan.generate(generator, labels, z=z)


def snapshots_of(source: Any) -> list[tuple[int, torch.nn.Module]]:
    """``[(step, generator)]`` from a TrainResult (with its snapshots) or a generator."""
    if isinstance(source, torch.nn.Module):
        return [(-1, source)]
    final = getattr(source, "generator", None)
    if not isinstance(final, torch.nn.Module):
        raise TypeError(
            "generator_panel needs a gan.TrainResult (e.g. book_gan) or a generator, "
            f"got {type(source).__name__}"
        )
    steps = int(getattr(source, "steps", -1))
    models = []
    for step, state in getattr(source, "snapshots", None) or []:
        if int(step) >= steps:
            continue  # the last snapshot is the final generator, added below
        model = copy.deepcopy(final)
        model.load_state_dict(state)
        models.append((int(step), model.eval()))
    return [*models, (steps, final)]


class GeneratorWidget(anywidget.AnyWidget):
    """The generator panel as a widget; its knobs live in the browser.

    Set :meth:`show` (e.g. after retraining) to send new weights: the panel
    redraws with them. The knob traits follow the browser and can be set
    from Python too.
    """

    _esm = MODULE
    title = t.Unicode("The book's generator, running in your browser").tag(sync=True)
    meta = t.Dict().tag(sync=True)
    weights = t.Bytes().tag(sync=True)
    digit = t.Int(8).tag(sync=True)
    blend_toward = t.Int(None, allow_none=True).tag(sync=True)
    blend = t.Float(0.5).tag(sync=True)
    seed = t.Int(0).tag(sync=True)
    noise_scale = t.Float(1.0).tag(sync=True)
    truncation = t.Float(0.0).tag(sync=True)
    shifts = t.List(t.Float(), default_value=[0.0] * SHIFTS).tag(sync=True)
    snapshot = t.Int(-1).tag(sync=True)

    def show(self, source: Any, *, film: bool = True) -> None:
        """Export ``source`` (a TrainResult or a generator) and send it to the panel."""
        models = snapshots_of(source)
        if not film:
            models = models[-1:]
        meta, blob = export.export_models(models)
        self.snapshot = len(models) - 1
        self.meta = meta
        self.weights = blob

    @t.validate("digit")
    def _valid_digit(self, proposal: dict[str, Any]) -> int:
        return check_digit("digit", proposal["value"])

    @t.validate("blend_toward")
    def _valid_toward(self, proposal: dict[str, Any]) -> int | None:
        return _optional_digit("blend_toward", proposal["value"])

    @t.validate("blend")
    def _valid_blend(self, proposal: dict[str, Any]) -> float:
        return check_probability("blend", proposal["value"])

    @t.validate("seed")
    def _valid_seed(self, proposal: dict[str, Any]) -> int:
        seed = proposal["value"]
        if not 0 <= seed < export.BANK_SEEDS:
            raise ValueError(f"seed must be 0 to {export.BANK_SEEDS - 1}, got {seed}")
        return seed

    @t.validate("noise_scale")
    def _valid_scale(self, proposal: dict[str, Any]) -> float:
        value = proposal["value"]
        return check_number("noise_scale", value, minimum=0.0, maximum=NOISE_MAX)

    @t.validate("truncation")
    def _valid_truncation(self, proposal: dict[str, Any]) -> float:
        value = proposal["value"]
        return check_number("truncation", value, minimum=0.0, maximum=TRUNCATION_MAX)

    @t.validate("shifts")
    def _valid_shifts(self, proposal: dict[str, Any]) -> list[float]:
        values = list(proposal["value"])
        if len(values) != SHIFTS:
            raise ValueError(f"shifts must hold {SHIFTS} numbers, got {len(values)}")
        return [
            check_number(f"shifts[{i}]", v, minimum=-SHIFT_MAX, maximum=SHIFT_MAX)
            for i, v in enumerate(values)
        ]


def generator_panel(
    result_or_generator: Any,
    *,
    digit: int = 8,
    film: bool = True,
    title: str | None = None,
) -> GeneratorWidget:
    """Return the panel that runs the generator in the reader's browser.

    Parameters
    ----------
    result_or_generator : gan.TrainResult or torch.nn.Module
        The trained GAN (its ``snapshots`` become the training-film slider) or
        a bare generator (no film).
    digit : int, default 8
        The digit shown first.
    film : bool, default True
        Carry the training snapshots (each adds the size of one generator,
        int8, to the page).
    title : str, optional
        The panel's accessible name.

    See :func:`render` for the meaning of each knob.
    """
    widget = GeneratorWidget(digit=check_digit("digit", digit))
    if title is not None:
        widget.title = title
    widget.show(result_or_generator, film=film)
    return widget


def noise_scale_grid(
    generator: torch.nn.Module,
    scales: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0),
    seed: int = 0,
):
    """Precomputed small multiples: one column per noise scale, one row per digit."""
    base = gan.sample_latents(10, export.latent_dim(generator), seed=seed)
    labels = torch.arange(10)
    fig, axes = plt.subplots(1, len(scales), figsize=(1.3 * len(scales) + 0.5, 5.2))
    for ax, scale in zip(np.atleast_1d(axes), scales, strict=True):
        images = gan.generate(generator, labels, z=base * scale, seed=seed)
        ax.imshow(digit_grid(images, nrow=1), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"scale {scale:g}")
        ax.set_xticks([])
        ax.set_yticks([2 + 14 + 30 * d for d in range(10)])
        ax.set_yticklabels(
            [str(d) for d in range(10)] if ax is np.atleast_1d(axes)[0] else []
        )
        ax.tick_params(left=False)
    fig.tight_layout()
    return fig
