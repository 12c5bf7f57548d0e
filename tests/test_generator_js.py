"""The browser's generator (generator.mjs, run by Node) matches torch.

Two tolerances, measured on every knob (digit, blends, seeds, noise scale,
truncation, shifts, training-film snapshots):

* arithmetic: JavaScript on the exported weights against torch on the same
  (int8, dequantized) weights, within ``ARITHMETIC_TOL``;
* end to end: JavaScript against the original float32 generator through
  :func:`synthbook.widgets.render_images`, the picture Python shows, within
  ``PIXEL_MAX_TOL`` for any pixel and ``PIXEL_MEAN_TOL`` on average (pixels in
  [0, 1]; the difference is int8 quantisation). The training film's earlier
  frames travel in 4 bits (export.FILM_INT4_MIN_WEIGHTS): they are held to
  ``FILM_PIXEL_MEAN_TOL`` on average only.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from synthbook import gan
from synthbook.widgets import export, generator_panel, render_images
from synthbook.widgets.generator import MODULE

RUNNER = Path(__file__).with_name("js") / "run_generator.mjs"
NODE = shutil.which("node")
ARITHMETIC_TOL = 2e-5
PIXEL_MAX_TOL = 0.05
PIXEL_MEAN_TOL = 0.004
# The random generators below saturate more than trained ones (their weights
# are scaled up): measured here, a 4-bit frame's mean pixel error is about
# 0.02 (0.007 on the book's trained GAN, see export.FILM_INT4_MIN_WEIGHTS).
FILM_PIXEL_MEAN_TOL = 0.03

pytestmark = pytest.mark.skipif(
    NODE is None, reason="needs Node.js (apt-get install nodejs)"
)

CASES = [
    {"digit": 8},
    {"digit": 0, "seed": 7},
    {"digit": 3, "seed": 99},
    {"digit": 4, "blend_toward": 9, "blend": 0.0},
    {"digit": 4, "blend_toward": 9, "blend": 0.35},
    {"digit": 4, "blend_toward": 9, "blend": 1.0},
    {"digit": 5, "blend_toward": 5, "blend": 0.5},
    {"digit": 2, "noise_scale": 0.0},
    {"digit": 2, "noise_scale": 2.7},
    {"digit": 6, "truncation": 0.1},
    {"digit": 6, "truncation": 0.7, "seed": 12},
    {"digit": 6, "truncation": 3.0, "noise_scale": 1.5},
    {"digit": 1, "shifts": [3.0, -3.0, 0.4]},
    {
        "digit": 7,
        "shifts": [-1.2, 0.0, 2.5],
        "truncation": 1.2,
        "blend_toward": 1,
        "blend": 0.6,
    },
]


def _knobs(case: dict, snapshot: int | None = None) -> dict:
    knobs = {
        "digit": 8,
        "blend_toward": None,
        "blend": 0.0,
        "seed": 0,
        "noise_scale": 1.0,
        "truncation": 0.0,
        "shifts": [0.0, 0.0, 0.0],
        **case,
    }
    if snapshot is not None:
        knobs["snapshot"] = snapshot
    return knobs


def _generator(seed: int, leaky: bool = False) -> gan.Generator:
    """A book-shaped generator with random weights and non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    model = gan.Generator(gan.GANConfig())
    if leaky:  # the export walks the Sequential generically
        model.body = nn.Sequential(
            *[nn.LeakyReLU(0.2) if isinstance(m, nn.ReLU) else m for m in model.body]
        )
    with torch.no_grad():
        for module in model.body:
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.normal_(0, 0.3)
                module.running_var.uniform_(0.3, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
            if isinstance(module, nn.Linear):
                module.weight.mul_(2.5)
    return model.eval()


def _run_node(
    tmp_path: Path, meta: dict, blob: bytes, cases: list[dict]
) -> tuple[np.ndarray, dict]:
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    (tmp_path / "weights.bin").write_bytes(blob)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run(
        [
            NODE,
            str(RUNNER),
            str(MODULE),
            str(tmp_path / "meta.json"),
            str(tmp_path / "weights.bin"),
            str(tmp_path / "cases.json"),
            str(tmp_path / "out.bin"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    images = np.fromfile(tmp_path / "out.bin", dtype="<f4").reshape(len(cases), 8, 784)
    return images, json.loads(done.stdout)


def _compare(tmp_path: Path, snapshots: list[tuple[int, nn.Module]]) -> dict:
    meta, blob = export.export_models(snapshots)
    cases = [_knobs(c, s) for s in range(len(snapshots)) for c in CASES]
    js, info = _run_node(tmp_path, meta, blob, cases)
    worst = {"arithmetic": 0.0, "max": 0.0, "mean": 0.0, "film_mean": 0.0}
    film_errors: dict[int, list[float]] = {}
    for case, got in zip(cases, js, strict=True):
        model = snapshots[case["snapshot"]][1]
        knobs = {k: v for k, v in case.items() if k != "snapshot"}
        z = export.latents(
            export.latent_dim(model),
            seed=knobs["seed"],
            noise_scale=knobs["noise_scale"],
            truncation=knobs["truncation"],
            shifts=knobs["shifts"],
        )
        labels = export.label_weights(
            knobs["digit"], knobs["blend_toward"], knobs["blend"], len(z)
        )
        layers = export.dequantized_layers(meta, blob, case["snapshot"])
        same_weights = export.forward_layers(layers, z, labels).reshape(8, 784).numpy()
        torch_images = render_images(model, **knobs).reshape(8, 784).numpy()
        worst["arithmetic"] = max(
            worst["arithmetic"], float(np.abs(got - same_weights).max())
        )
        error = np.abs(got - torch_images)
        if case["snapshot"] < len(snapshots) - 1:  # a 4-bit film frame
            film_errors.setdefault(case["snapshot"], []).append(float(error.mean()))
            continue
        worst["max"] = max(worst["max"], float(error.max()))
        worst["mean"] = max(worst["mean"], float(error.mean()))
    for errors in film_errors.values():  # each frame's mean over every knob
        worst["film_mean"] = max(worst["film_mean"], float(np.mean(errors)))
    worst["alts"] = info["alts"]
    return worst


def test_js_matches_torch_on_every_knob(tmp_path: Path) -> None:
    worst = _compare(tmp_path, [(1000, _generator(1))])
    print(
        f"\nparity: arithmetic {worst['arithmetic']:.2e}, pixels max {worst['max']:.4f}, "
        f"mean {worst['mean']:.5f}"
    )
    assert worst["arithmetic"] <= ARITHMETIC_TOL, worst
    assert worst["max"] <= PIXEL_MAX_TOL, worst
    assert worst["mean"] <= PIXEL_MEAN_TOL, worst


def test_js_matches_torch_for_every_film_snapshot_and_leaky_relu(
    tmp_path: Path,
) -> None:
    snapshots = [
        (0, _generator(2, leaky=True)),
        (500, _generator(3, leaky=True)),
        (2000, _generator(4, leaky=True)),
    ]
    worst = _compare(tmp_path, snapshots)
    print(f"\nfilm frames (4-bit): worst mean pixel error {worst['film_mean']:.4f}")
    assert worst["arithmetic"] <= ARITHMETIC_TOL, worst
    assert worst["max"] <= PIXEL_MAX_TOL, worst
    assert worst["mean"] <= PIXEL_MEAN_TOL, worst
    assert 0 < worst["film_mean"] <= FILM_PIXEL_MEAN_TOL, worst
    assert "after 500 training steps" in worst["alts"][len(CASES)]


def test_truncation_keeps_order_and_bounds() -> None:
    # JavaScript's truncation is checked through the pictures above.
    z = torch.linspace(-4.2, 4.2, 57)
    for t in (0.05, 0.5, 1.0, 2.0, 3.0):
        out = export.truncate(z, t)
        assert float(out.abs().max()) <= t
        assert bool((out[1:] >= out[:-1]).all()), (
            "truncation must keep the order of values"
        )


def test_alt_text_follows_the_knobs(tmp_path: Path) -> None:
    meta, blob = export.export_models([(2000, _generator(5))])
    cases = [
        _knobs(
            {"digit": 4, "blend_toward": 9, "blend": 0.25, "seed": 7, "truncation": 0.5}
        )
    ]
    _, info = _run_node(tmp_path, meta, blob, cases)
    alt = info["alts"][0]
    for words in (
        "75% digit 4",
        "25% digit 9",
        "seed 7",
        "truncation 0.5",
        "2000 training steps",
    ):
        assert words in alt, alt


def test_seed_means_the_same_noise_as_the_bank() -> None:
    bank = export.noise_bank(32)
    assert bank.shape == (export.BANK_SEEDS, export.BANK_SAMPLES, 32)
    assert torch.equal(export.latents(32, seed=7), bank[7])
    # More samples than the bank holds: the first eight stay the bank's.
    assert torch.equal(export.latents(32, seed=7, count=12)[:8], bank[7])


def test_panel_takes_a_train_result_with_snapshots() -> None:
    final = _generator(6)
    early = copy.deepcopy(final)
    with torch.no_grad():
        early.body[0].weight.mul_(0.1)
    result = SimpleNamespace(
        generator=final,
        steps=2000,
        snapshots=[(0, early.state_dict()), (2000, final.state_dict())],
    )
    panel = generator_panel(result)
    assert [m["step"] for m in panel.meta["models"]] == [0, 2000]
    assert panel.snapshot == 1
    assert [m["step"] for m in generator_panel(result, film=False).meta["models"]] == [
        2000
    ]


def test_export_refuses_what_the_browser_cannot_run() -> None:
    model = _generator(7)
    model.body = nn.Sequential(*model.body[:-1], nn.Softmax(dim=1))
    with pytest.raises(ValueError, match="Softmax"):
        export.fold_generator(model)
    conv = _generator(7)  # a convolution where the browser expects a linear layer
    conv.body = nn.Sequential(
        nn.Linear(2 * conv.latent_dim, 784),
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 1, 3, padding=1),
        nn.Tanh(),
    )
    with pytest.raises(ValueError, match="cannot run in the browser|must follow"):
        export.fold_generator(conv)


@pytest.mark.parametrize(
    ("knob", "value", "message"),
    [
        ("digit", -1, "digit"),
        ("blend", float("nan"), "blend"),
        ("noise_scale", float("inf"), "noise_scale"),
        ("truncation", -1.0, "truncation"),
        ("shifts", (float("nan"), 0.0, 0.0), r"shifts\[0\]"),
        ("seed", -3, "seed"),
    ],
)
def test_render_names_the_bad_knob(knob: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_images(_generator(8), **{knob: value})
