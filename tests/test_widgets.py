"""synthbook.widgets: the precomputed panel and the pictures it carries."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from synthbook import gan
from synthbook.widgets import export, generator_panel, image_html, precomputed_panel
from synthbook.widgets.generator import MODULE

# Issue 13: the weights a page carries, at most 1.5 MB per page. The chapter page
# that embeds the generator panel has about 130 kB besides (text, figures,
# widget state); 200 kB are set aside for it.
PAGE_BUDGET = 1_500_000
REST_OF_PAGE = 200_000

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


def test_a_film_of_the_book_generator_fits_the_page_budget() -> None:
    """Five generators of the book's shape, plus the noise bank, as the page embeds them."""
    models = []
    for step in np.linspace(0, gan.BOOK_STEPS, gan.SNAPSHOTS).round():
        torch.manual_seed(int(step))
        models.append((int(step), gan.Generator(gan.GANConfig()).eval()))
    meta, blob = export.export_models(models)
    embedded = len(base64.b64encode(blob))
    assert len(meta["models"]) == gan.SNAPSHOTS == 5
    assert meta["bank"]["seeds"] == export.BANK_SEEDS
    assert embedded + REST_OF_PAGE <= PAGE_BUDGET, (
        f"the film's weights take {embedded:,} bytes of base64; with the rest of the "
        f"page that is over {PAGE_BUDGET:,}"
    )
    # The generator the panel opens on (and Python's render matches) keeps int8
    # per row or finer; only the film's earlier frames are coarser.
    assert {layer["dtype"] for layer in meta["models"][-1]["layers"]} <= {"f16", "int8"}
    width = gan.GANConfig().width
    params = sum(p.numel() for p in gan.Generator(gan.GANConfig()).parameters())
    print(f"\nwidth {width}, {params:,} parameters: {embedded:,} bytes of base64")


def test_four_bit_frames_read_back_as_written() -> None:
    """A film frame's 4-bit weights read back within half a step of their row's scale."""
    torch.manual_seed(0)
    early, final = gan.Generator(gan.GANConfig()), gan.Generator(gan.GANConfig())
    meta, blob = export.export_models(
        [(0, early.eval()), (10, final.eval())], bank=False
    )
    kinds = [layer["dtype"] for layer in meta["models"][0]["layers"]]
    assert kinds[-1] == "int4", kinds
    folded = export.fold_generator(early)[-1].weight
    stored = export.dequantized_layers(meta, blob, 0)[-1].weight
    # Each row: at most 15 levels (q * scale, q in [-7, 7]), none beyond the
    # row's peak, and no farther from the weights than plain rounding to steps of
    # peak / 7 (root mean square within half a step: the row's clipping level is
    # chosen to do at least as well).
    peak = folded.abs().amax(dim=1)
    assert max(len(torch.unique(row)) for row in stored) <= 15
    assert bool((stored.abs().amax(dim=1) <= peak * (1 + 1e-6)).all())
    rms = (stored - folded).pow(2).mean(dim=1).sqrt()
    assert bool((rms <= peak / 14).all())
