"""Panels whose controls pick among precomputed pictures: no kernel needed.

The pictures travel with the page as PNG data URIs, and a few lines of plain
JavaScript (``precomputed.js``, inlined: no network, no eval, works from
``file://``) show the one the controls select. The same HTML output works in a
live notebook (JupyterLab runs the script of a trusted output) and in the
static book, where it is plain HTML rather than widget state.
"""

from __future__ import annotations

import html
import itertools
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from IPython.display import HTML

from synthbook.widgets.images import png_data_uri

Control = tuple[str, str, Sequence[tuple[str, Any]]]

SCRIPT = Path(__file__).with_name("precomputed.js")
_STYLE = (
    ".sb-panel{border:1px solid #8886;border-radius:6px;padding:.6em .8em;"
    "margin:.5em 0;max-width:48em}.sb-panel-controls{display:flex;flex-wrap:wrap;gap:.4em 1.4em}"
    ".sb-panel-controls label{display:inline-flex;gap:.4em;align-items:center}"
    ".sb-panel img{display:block;max-width:100%;margin-top:.5em;"
    "image-rendering:pixelated;background:#fff}"
    ".sb-panel-text{font-size:.9em;margin:.3em 0 0}"
)


def _menu(uid: str, index: int, name: str, label: str, options: Sequence) -> str:
    ident = f"{uid}-c{index}"
    items = "".join(
        f'<option value="{html.escape(json.dumps(v))}">{html.escape(str(text))}</option>'
        for text, v in options
    )
    return (
        f'<label for="{ident}">{html.escape(label)}'
        f'<select id="{ident}" name="{html.escape(name)}" data-control="{index}">'
        f"{items}</select></label>"
    )


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
    static book (over http and from ``file://``) as in a live notebook. Each
    control is a labelled menu (keyboard operable); the picture's alt text and
    the sentence under it follow the selection.

    Parameters
    ----------
    controls : sequence of (name, label, options)
        One menu per control; ``options`` is a sequence of ``(label, value)``
        whose values are JSON-able (numbers, strings, None); the first is shown
        first.
    frames : mapping
        For every combination of option values (a tuple, one value per control,
        in the order of ``controls``): ``{"png": bytes}`` or ``{"image":
        array}`` (grey in [0, 1] is drawn as dark ink on light), an ``"alt"``
        text describing that picture, and optionally ``"text"``, a sentence
        shown under it.
    title : str
        Shown above the controls, and the panel's accessible name.
    width : int, optional
        Display width of the picture in CSS pixels.

    Returns
    -------
    IPython.display.HTML

    Raises
    ------
    ValueError
        If there are no controls, a control has no options, a combination of
        options has no frame, or a frame has no alt text.
    """
    if not controls:
        raise ValueError("controls must name at least one control")
    if not str(title).strip():
        raise ValueError("title must name the panel (it is its accessible name)")
    for name, _, options in controls:
        if not options:
            raise ValueError(f"control {name!r} needs at least one option")
    index: dict[str, dict[str, str]] = {}
    sources: dict[str, int] = {}
    pictures: list[str] = []
    for combo in itertools.product(*[[v for _, v in opts] for _, _, opts in controls]):
        frame = frames.get(tuple(combo))
        if frame is None:
            raise ValueError(f"frames has no picture for the settings {combo!r}")
        alt = str(frame.get("alt", "")).strip()
        if not alt:
            raise ValueError(f"the frame for {combo!r} needs an alt text")
        src = png_data_uri(frame)
        if src not in sources:  # identical pictures travel once
            sources[src] = len(pictures)
            pictures.append(src)
        key = "|".join(json.dumps(v) for v in combo)
        index[key] = {
            "p": sources[src],
            "alt": alt,
            "text": str(frame.get("text", "")),
        }
    uid = "sb-panel-" + uuid.uuid4().hex[:10]
    first = next(iter(index.values()))
    menus = "".join(
        _menu(uid, i, name, label, options)
        for i, (name, label, options) in enumerate(controls)
    )
    style = f' style="width:{int(width)}px"' if width else ""
    data = json.dumps({"frames": index, "pictures": pictures}).replace("</", "<\\/")
    script = (
        "(function(){var root=document.getElementById(" + json.dumps(uid) + ");"
        "var data=" + data + ";" + SCRIPT.read_text(encoding="utf-8") + "})();"
    )
    body = (
        f"<style>{_STYLE}</style>"
        f'<div id="{uid}" class="sb-panel" role="group" data-sb-panel="precomputed" '
        f'aria-labelledby="{uid}-title">'
        f'<p id="{uid}-title"><strong>{html.escape(title)}</strong></p>'
        f'<div class="sb-panel-controls">{menus}</div>'
        f'<img src="{pictures[first["p"]]}" alt="{html.escape(first["alt"])}"{style}>'
        f'<p class="sb-panel-text" aria-live="polite">{html.escape(first["text"])}</p>'
        f"<script>{script}</script></div>"
    )
    return HTML(body)
