"""synthbook.widgets: the precomputed panel and the pictures it carries."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from synthbook.widgets import generator_panel, image_html, precomputed_panel
from synthbook.widgets.generator import MODULE

CONTROLS = [("digit", "digit", [("4", 4), ("9", 9)]), ("kind", "kind", [("a", "a")])]


def _frames(same: bool = False) -> dict:
    rng = np.random.default_rng(0)
    return {
        (d, "a"): {
            "image": np.zeros((4, 4)) if same else rng.random((4, 4)),
            "alt": f"picture {d}",
            "text": f"text {d}",
        }
        for d in (4, 9)
    }


def _data(body: str) -> dict:
    match = re.search(r"var data=(\{.*?\});", body)
    assert match, "no frame data in the panel"
    return json.loads(match.group(1))


def test_panel_labels_every_menu_and_carries_every_frame() -> None:
    body = precomputed_panel(CONTROLS, _frames(), title="A panel").data
    ids = re.findall(r'<select id="([^"]+)"', body)
    assert len(ids) == 2
    for ident in ids:
        assert f'<label for="{ident}">' in body
    data = _data(body)
    assert set(data["frames"]) == {'4|"a"', '9|"a"'}
    assert data["frames"]['9|"a"']["alt"] == "picture 9"
    assert 'data-sb-panel="precomputed"' in body and 'alt="picture 4"' in body


def test_identical_pictures_travel_once() -> None:
    data = _data(precomputed_panel(CONTROLS, _frames(same=True), title="T").data)
    assert len(data["pictures"]) == 1


@pytest.mark.parametrize(
    ("controls", "frames", "title", "message"),
    [
        ([], {}, "T", "at least one control"),
        (
            CONTROLS,
            {(4, "a"): {"image": np.zeros((2, 2)), "alt": "x"}},
            "T",
            "no picture",
        ),
        (
            CONTROLS,
            {k: {"image": np.zeros((2, 2)), "alt": " "} for k in _frames()},
            "T",
            "alt text",
        ),
        (CONTROLS, _frames(), " ", "title"),
        (CONTROLS, {k: {"alt": "x"} for k in _frames()}, "T", "'png'"),
    ],
)
def test_panel_refuses_what_it_cannot_show(controls, frames, title, message) -> None:
    with pytest.raises(ValueError, match=message):
        precomputed_panel(controls, frames, title=title)


def test_nan_pictures_are_refused() -> None:
    frames = _frames()
    frames[(4, "a")]["image"] = np.full((4, 4), np.nan)
    with pytest.raises(ValueError, match="NaN"):
        precomputed_panel(CONTROLS, frames, title="T")


def test_browser_code_never_evaluates_strings() -> None:
    body = precomputed_panel(CONTROLS, _frames(), title="T").data
    for source in (body, MODULE.read_text()):
        assert "eval(" not in source and "new Function" not in source
        assert "http://" not in source and "https://" not in source


def test_image_html_needs_alt_text() -> None:
    with pytest.raises(ValueError, match="alt"):
        image_html(np.zeros((2, 2)), " ")


def test_panel_refuses_what_is_not_a_generator() -> None:
    with pytest.raises(TypeError, match="TrainResult"):
        generator_panel("a generator")
