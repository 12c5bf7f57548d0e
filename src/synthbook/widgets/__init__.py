"""Panels that work live in Jupyter and in the static book, with no kernel.

- :func:`generator_panel`: the book's generator, exported at build time and run
  in the reader's browser (an anywidget; ``generator.mjs``), with a
  training-film slider over a TrainResult's snapshots. :func:`render` is the
  same picture in Python.
- :func:`precomputed_panel`: menus that pick among precomputed pictures.
- :func:`image_html`, :func:`digits_html`: pictures as ``<img>`` tags with alt text.
"""

from synthbook.widgets.export import export_models, fold_generator, latents
from synthbook.widgets.generator import (
    GeneratorWidget,
    generator_panel,
    noise_scale_grid,
    render,
    render_images,
)
from synthbook.widgets.images import digits_html, image_html, png_data_uri
from synthbook.widgets.precomputed import Control, precomputed_panel

__all__ = [
    "Control",
    "GeneratorWidget",
    "digits_html",
    "export_models",
    "fold_generator",
    "generator_panel",
    "image_html",
    "latents",
    "noise_scale_grid",
    "png_data_uri",
    "precomputed_panel",
    "render",
    "render_images",
]
