"""The static pages carry only the widget models their shown outputs display."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from synthbook.tools.execution import WIDGET_STATE, WIDGET_VIEW, prune_widget_state


def _view(model: str):
    return new_output(
        "display_data", data={WIDGET_VIEW: {"model_id": model, "version_major": 2}}
    )


def _model(name: str, **state):
    return {
        "model_name": name,
        "model_module": "@jupyter-widgets/controls",
        "state": state,
    }


def _notebook(state: dict, cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": state, "version_major": 2}}
    return nb


def test_models_reachable_from_shown_views_are_kept_and_the_rest_dropped() -> None:
    state = {
        "a1": _model("VBoxModel", children=["IPY_MODEL_b2", "IPY_MODEL_c3"]),
        "b2": _model("IntSliderModel", layout="IPY_MODEL_d4"),
        "c3": _model("HTMLModel"),
        "d4": _model("LayoutModel"),
        "e5": _model("IntSliderModel"),  # a live-only panel's, output removed
        "f6": _model("LayoutModel"),  # nobody displays it
    }
    shown = new_code_cell("panel", outputs=[_view("a1")])
    hidden = new_code_cell("live", outputs=[_view("e5")])
    hidden.metadata["tags"] = ["remove-output"]
    nb = _notebook(state, [shown, hidden])

    assert prune_widget_state(nb) == 2
    assert set(nb.metadata["widgets"][WIDGET_STATE]["state"]) == {
        "a1",
        "b2",
        "c3",
        "d4",
    }


def test_a_notebook_that_shows_no_widget_keeps_no_widget_state() -> None:
    hidden = new_code_cell("live", outputs=[_view("e5")])
    hidden.metadata["tags"] = ["remove-cell"]
    nb = _notebook({"e5": _model("IntSliderModel")}, [hidden])

    assert prune_widget_state(nb) == 1
    assert "widgets" not in nb.metadata


def test_a_notebook_without_widgets_is_left_alone() -> None:
    nb = new_notebook(cells=[new_code_cell("1 + 1")])
    assert prune_widget_state(nb) == 0
    assert "widgets" not in nb.metadata
