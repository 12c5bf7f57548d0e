"""Widgets that work live in Jupyter and still show something in the static book.

Images are sent as ``<img>`` tags with alt text inside an ``ipywidgets.HTML``
(not ``ipywidgets.Image``, which has no alt attribute), so that a screen reader
can describe them and the static book renders them from saved widget state.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
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


def _latent_dim(generator: torch.nn.Module) -> int:
    dim = getattr(generator, "latent_dim", None)
    if dim is None:
        raise ValueError(
            "the generator must expose its latent_dim (use synthbook.gan models)"
        )
    return int(dim)


def render(
    generator: torch.nn.Module,
    *,
    digit: int = 8,
    blend_toward: int | None = None,
    blend: float = 0.0,
    seed: int = 0,
    noise_scale: float = 1.0,
    truncation: float = 0.0,
    shifts: tuple[float, ...] = (0.0, 0.0, 0.0),
    count: int = 8,
) -> np.ndarray:
    """Generate ``count`` digits for one setting of the knobs; return them tiled.

    A pure function of its arguments (no widget state), so tests and the
    benchmark call it directly and the panel only wires sliders to it.

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
        Seed for the noise vectors.
    noise_scale : float
        Multiplies the noise (> 1: low-density "edge cases").
    truncation : float
        Redraw noise coordinates beyond this threshold; 0 means no truncation.
    shifts : tuple of float
        Added to the first ``len(shifts)`` noise coordinates.
    count : int
        How many samples to draw.

    Returns
    -------
    numpy.ndarray
        The tiled grey-scale image, values in ``[0, 1]``.
    """
    from synthbook import gan

    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend must be between 0 and 1, got {blend}")
    z = gan.sample_latents(
        count,
        _latent_dim(generator),
        seed=seed,
        truncation=truncation if truncation > 0 else None,
        noise_scale=noise_scale,
    )
    z[:, : len(shifts)] += torch.tensor(shifts, dtype=z.dtype)
    labels = torch.zeros(count, 10)
    labels[:, digit] = 1.0 - (blend if blend_toward is not None else 0.0)
    if blend_toward is not None:
        labels[:, blend_toward] += blend
    with torch.no_grad():
        images = gan.generate(generator, labels, z=z, seed=seed)
    return digit_grid(images, nrow=count)


def _describe(
    digit: int, blend_toward: int | None, blend: float, noise_scale: float
) -> str:
    label = f"digit {digit}"
    if blend_toward is not None and blend > 0:
        label = f"a blend of {1 - blend:.0%} digit {digit} and {blend:.0%} digit {blend_toward}"
    return f"Eight generated samples asked to be {label}, with noise scale {noise_scale:.2f}"


def generator_panel(generator: torch.nn.Module, *, digit: int = 8):
    """Return an ipywidgets panel that redraws generated digits as knobs move.

    See :func:`render` for the meaning of each knob.
    """
    import ipywidgets as widgets

    style = {"description_width": "90px"}
    digit_box = widgets.Dropdown(
        options=list(range(10)), value=digit, description="digit", style=style
    )
    toward_box = widgets.Dropdown(
        options=[("none", None)] + [(str(d), d) for d in range(10)],
        value=None,
        description="blend toward",
        style=style,
    )
    blend_slider = widgets.FloatSlider(
        value=0.5, min=0.0, max=1.0, step=0.05, description="blend", style=style
    )
    seed_box = widgets.IntSlider(
        value=0, min=0, max=99, description="seed", style=style
    )
    noise_slider = widgets.FloatSlider(
        value=1.0, min=0.0, max=3.0, step=0.1, description="noise scale", style=style
    )
    trunc_slider = widgets.FloatSlider(
        value=0.0, min=0.0, max=3.0, step=0.1, description="truncation", style=style
    )
    shift_sliders = [
        widgets.FloatSlider(
            value=0.0, min=-3.0, max=3.0, step=0.1, description=f"z{i}", style=style
        )
        for i in range(3)
    ]
    output = widgets.HTML()

    def redraw(_change: object = None) -> None:
        grid = render(
            generator,
            digit=digit_box.value,
            blend_toward=toward_box.value,
            blend=blend_slider.value,
            seed=seed_box.value,
            noise_scale=noise_slider.value,
            truncation=trunc_slider.value,
            shifts=tuple(s.value for s in shift_sliders),
        )
        alt = _describe(
            digit_box.value, toward_box.value, blend_slider.value, noise_slider.value
        )
        output.value = image_html(grid, alt, scale=3)

    controls = [
        digit_box,
        toward_box,
        blend_slider,
        seed_box,
        noise_slider,
        trunc_slider,
        *shift_sliders,
    ]
    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox(
        [
            widgets.HBox([widgets.VBox(controls[:4]), widgets.VBox(controls[4:])]),
            output,
        ]
    )


def noise_scale_grid(
    generator: torch.nn.Module,
    scales: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0),
    seed: int = 0,
):
    """Precomputed small multiples: one column per noise scale, one row per digit."""
    import matplotlib.pyplot as plt

    from synthbook import gan

    base = gan.sample_latents(10, _latent_dim(generator), seed=seed)
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


# --------------------------------------------------------------------------
# Panels that work without a kernel: every frame precomputed, picked in the browser
# --------------------------------------------------------------------------

Control = tuple[str, str, Sequence[tuple[str, Any]]]

# Picks the frame the menus select; no eval, no network, works from file://.
_PANEL_JS = (
    "var menus=root.querySelectorAll('select');var img=root.querySelector('img');"
    "var text=root.querySelector('.sb-panel-text');"
    "function show(){var key=Array.prototype.map.call(menus,function(m){"
    "return m.value;}).join('|');var f=frames[key];if(!f){return;}"
    "img.src=f.src;img.alt=f.alt;text.textContent=f.text;}"
    "Array.prototype.forEach.call(menus,function(m){"
    "m.addEventListener('change',show);m.addEventListener('input',show);});"
)


def _png_data_uri(frame: Mapping[str, Any]) -> str:
    if "png" in frame:
        payload = bytes(frame["png"])
    elif "image" in frame:
        array = np.asarray(frame["image"])
        if array.dtype != np.uint8:
            array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
        if array.ndim == 2:
            array = 255 - array  # dark ink on a light page, as in the figures
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG", compress_level=6)
        payload = buffer.getvalue()
    else:
        raise ValueError("each frame needs a 'png' (bytes) or an 'image' (array)")
    return "data:image/png;base64," + base64.b64encode(payload).decode()


def precomputed_panel(
    controls: Sequence[Control],
    frames: Mapping[tuple[Any, ...], Mapping[str, Any]],
    *,
    title: str,
    width: int | None = None,
) -> Any:
    """Return an HTML panel whose controls pick among precomputed pictures.

    It needs no kernel: the pictures travel with the page and a few lines of
    JavaScript show the one the controls select, so the panel works in the
    static book (over http and from ``file://``) as in a live notebook.

    Parameters
    ----------
    controls : sequence of (name, label, options)
        One menu per control; ``options`` is a sequence of ``(label, value)``.
    frames : mapping
        For every combination of option values (a tuple, one value per control,
        in the order of ``controls``): ``{"png": bytes}`` or ``{"image":
        array}`` (grey in [0, 1] is drawn as dark ink on light), an ``"alt"``
        text describing that picture, and optionally ``"text"``, a sentence
        shown under it.
    title : str
        Shown above the controls.
    width : int, optional
        Display width of the picture in CSS pixels.

    Returns
    -------
    IPython.display.HTML

    Raises
    ------
    ValueError
        If a combination of options has no frame, or a frame has no alt text.
    """
    import itertools
    import json
    import uuid

    from IPython.display import HTML

    if not controls:
        raise ValueError("controls must name at least one control")
    index: dict[str, dict[str, str]] = {}
    for combo in itertools.product(
        *[[v for _, v in options] for _, _, options in controls]
    ):
        frame = frames.get(tuple(combo))
        if frame is None:
            raise ValueError(f"frames has no picture for the settings {combo!r}")
        alt = str(frame.get("alt", "")).strip()
        if not alt:
            raise ValueError(f"the frame for {combo!r} needs an alt text")
        key = "|".join(json.dumps(v) for v in combo)
        index[key] = {
            "src": _png_data_uri(frame),
            "alt": alt,
            "text": str(frame.get("text", "")),
        }
    uid = "sb-panel-" + uuid.uuid4().hex[:10]
    first = next(iter(index.values()))
    menus = []
    for i, (name, label, options) in enumerate(controls):
        opts = "".join(
            f'<option value="{html.escape(json.dumps(v))}">{html.escape(str(lbl))}</option>'
            for lbl, v in options
        )
        menus.append(
            f'<label style="margin-right:1em">{html.escape(label)} '
            f'<select data-control="{i}" name="{html.escape(name)}">{opts}</select></label>'
        )
    style = f' style="width:{int(width)}px;max-width:100%"' if width else ""
    data = json.dumps(index).replace("</", "<\\/")  # never close the script early
    script = (
        "(function(){var root=document.getElementById(" + json.dumps(uid) + ");"
        "var frames=" + data + ";" + _PANEL_JS + "})();"
    )
    body = (
        f'<div id="{uid}" class="sb-panel" role="group" '
        f'aria-label="{html.escape(title)}">'
        f"<p><strong>{html.escape(title)}</strong></p><div>{''.join(menus)}</div>"
        f'<img src="{first["src"]}" alt="{html.escape(first["alt"])}"{style}>'
        f'<p class="sb-panel-text" aria-live="polite">{html.escape(first["text"])}</p>'
        f"<script>{script}</script></div>"
    )
    return HTML(body)
