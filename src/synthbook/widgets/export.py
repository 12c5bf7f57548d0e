"""Export a trained generator for the browser, and the noise both sides share.

The book's generator is a small MLP: a label embedding ``Linear(10, latent,
bias=False)`` whose output is concatenated to the noise ``z``, then
``Linear -> BatchNorm1d -> ReLU`` blocks, a last ``Linear`` and ``Tanh``. In
evaluation mode every part folds into plain dense layers:

- the embedding folds into the first linear layer, which then reads
  ``cat([z, label_weights])`` directly;
- each batch norm folds into the linear layer before it (scale the rows, shift
  the bias).

The last generator (the one the panel shows, and the picture Python's
``render`` draws) stores its large dense layers as int8 with one float32 scale
per output row (and a float32 bias), about a quarter of float32's size, and
small ones (the first) as float16. The training film's earlier frames are
stored more coarsely so that a page with five frames stays within its budget
of 1.5 MB (tests/test_widgets.py checks it): their largest layer as 4-bit integers with one scale
per row, two to a byte (see :data:`FILM_INT4_MIN_WEIGHTS` for why that is
acceptable for a film frame). ``generator.mjs`` runs them all.

Noise: :func:`latents` defines the noise vectors of a seed once, for Python and
JavaScript alike. The first :data:`BANK_SAMPLES` vectors of seeds ``0`` to
``BANK_SEEDS - 1`` travel with the page (the *bank*), so "seed 7" is the same
picture in Python and in the browser. Truncation is a deterministic transform
of those vectors (each coordinate is mapped through the normal distribution's
quantile function onto ``[-t, t]``), so a truncated draw is reproducible too
and moves smoothly with the threshold.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from synthbook.validate import check_count, check_finite, check_number, check_seed

#: Seeds whose noise travels with the page.
BANK_SEEDS = 100
#: Noise vectors per seed in the bank (the panel draws this many digits).
BANK_SAMPLES = 8
#: Bumped when the layout of the exported bytes changes (generator.mjs checks it).
FORMAT = 3
#: Layers this small travel as float16 (the first layer, which reads the noise
#: and the labels, is small and the most sensitive to int8 rounding).
HALF_MAX_WEIGHTS = 32_768
#: Film frames (every snapshot but the last) keep float16 only for layers this
#: small (the first layer) and int8 up to :data:`FILM_INT4_MIN_WEIGHTS`.
FILM_HALF_MAX_WEIGHTS = 16_384
#: Film-frame layers larger than this (the width-128 generator's last layer,
#: 784 x 256) travel as 4-bit integers, ``q`` in ``[-7, 7]`` with one float32
#: scale per row, chosen to minimise the row's squared error. Coarse is
#: acceptable there: a film frame shows how training went, not the generator
#: the book's numbers come from, and 4 bits change its pictures little. Measured
#: on the book's GAN (snapshots at steps 0 to 1500, 240 digits each, against the
#: float32 frame): mean pixel error 0.002 to 0.007 of the [0, 1] range, 99th
#: percentile 0.074 or less, worst single pixel 0.21 (the final generator, in
#: int8: mean 0.0004, worst 0.016). The middle layer stays int8: in 4 bits too,
#: the frames' mean error grew by half and the worst pixel to 0.35 (its rounding
#: compounds in the last layer).
FILM_INT4_MIN_WEIGHTS = 65_536
_ACTIVATIONS = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
_SKIPPED = (nn.Identity, nn.Dropout)


@dataclass
class Dense:
    """One folded layer: ``act(x @ weight.T + bias)``."""

    weight: torch.Tensor  # (out, in), float64
    bias: torch.Tensor  # (out,), float64
    act: str = "none"
    slope: float = 0.0  # LeakyReLU's negative slope


def latent_dim(generator: nn.Module) -> int:
    """Return the length of the generator's noise vectors (its ``latent_dim``)."""
    dim = getattr(generator, "latent_dim", None)
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(
            "the generator must expose its latent_dim (use synthbook.gan models)"
        )
    return dim


def fold_generator(generator: nn.Module) -> list[Dense]:
    """Return the generator as dense layers on ``cat([z, label_weights])``.

    Walks ``generator.body`` generically, so any MLP of the contract's shape
    (Linear, BatchNorm1d, ReLU or LeakyReLU blocks, a last Linear, Tanh) works.

    Raises
    ------
    ValueError
        If the generator is not such an MLP (say which part is not).
    """
    latent = latent_dim(generator)
    embed, body = getattr(generator, "embed", None), getattr(generator, "body", None)
    if not (isinstance(embed, nn.Linear) and embed.in_features == 10):
        raise ValueError(
            "only MLP generators export to the browser: expected generator.embed "
            f"= Linear(10, latent_dim), got {type(embed).__name__}"
        )
    if embed.bias is not None:
        raise ValueError("generator.embed must have no bias (Linear(..., bias=False))")
    if not isinstance(body, nn.Sequential) or not isinstance(body[0], nn.Linear):
        raise ValueError(
            "only MLP generators export to the browser: generator.body must be an "
            "nn.Sequential that starts with a Linear layer"
        )
    layers: list[Dense] = []
    with torch.no_grad():
        for index, module in enumerate(body):
            where = f"generator.body[{index}] ({type(module).__name__})"
            if isinstance(module, nn.Linear):
                bias = module.bias if module.bias is not None else None
                layers.append(
                    Dense(
                        module.weight.double().clone(),
                        torch.zeros(module.out_features, dtype=torch.float64)
                        if bias is None
                        else bias.double().clone(),
                    )
                )
            elif not layers or layers[-1].act != "none":
                raise ValueError(f"{where} must follow a Linear layer to export")
            elif isinstance(module, nn.BatchNorm1d):
                if module.running_mean is None or module.running_var is None:
                    raise ValueError(f"{where} keeps no running statistics to fold")
                scale = 1.0 / torch.sqrt(module.running_var.double() + module.eps)
                if module.affine:
                    scale = scale * module.weight.double()
                shift = -module.running_mean.double() * scale
                if module.affine:
                    shift = shift + module.bias.double()
                last = layers[-1]
                last.weight = last.weight * scale[:, None]
                last.bias = last.bias * scale + shift
            elif isinstance(module, nn.LeakyReLU):
                layers[-1].act, layers[-1].slope = "leaky_relu", module.negative_slope
            elif type(module) in _ACTIVATIONS:
                layers[-1].act = _ACTIVATIONS[type(module)]
            elif not isinstance(module, _SKIPPED):
                raise ValueError(
                    f"{where} cannot run in the browser: only Linear, BatchNorm1d, "
                    "ReLU, LeakyReLU, Tanh, Dropout and Identity are exported"
                )
    if layers[-1].act != "tanh" or layers[-1].weight.shape[0] != 784:
        raise ValueError(
            "the generator must end in Linear(..., 784) and Tanh (images in [-1, 1])"
        )
    first = layers[0]
    if first.weight.shape[1] != latent + embed.out_features:
        raise ValueError(
            f"generator.body[0] reads {first.weight.shape[1]} values, expected "
            f"latent_dim + embedding = {latent + embed.out_features}"
        )
    # cat([z, E y]) @ W.T = z @ Wz.T + y @ (We E).T: the embedding folds into W.
    wz, we = first.weight[:, :latent], first.weight[:, latent:]
    first.weight = torch.cat([wz, we @ embed.weight.detach().double()], dim=1)
    for layer in layers:
        check_finite("the generator's weights", layer.weight)
        check_finite("the generator's biases", layer.bias)
    return layers


def _quantize(weight: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """int8 with one scale per output row: ``weight ~ q * scale[:, None]``."""
    peak = weight.abs().amax(dim=1)
    scale = torch.where(peak > 0, peak / 127.0, torch.ones_like(peak)).float()
    q = torch.round(weight / scale.double()[:, None]).clamp(-127, 127)
    return q.to(torch.int8).numpy(), scale.numpy()


#: Fractions of a row's peak tried as its 4-bit clipping level.
_INT4_CLIPS = np.linspace(0.4, 1.0, 25)


def _quantize4(weight: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """4-bit with one scale per row: ``weight ~ q * scale[:, None]``, q in [-7, 7].

    With only 15 levels, scaling to the row's peak wastes most of them on a few
    outliers; each row instead takes the clipping level (a fraction of its
    peak) with the least squared error.
    """
    peak = weight.abs().amax(dim=1)
    best_q = torch.zeros_like(weight)
    best_scale = torch.ones_like(peak)
    best_error = torch.full_like(peak, float("inf"))
    for fraction in _INT4_CLIPS:
        scale = torch.where(peak > 0, peak * fraction / 7.0, torch.ones_like(peak))
        scale = scale.float().double()  # what travels: float32
        q = torch.round(weight / scale[:, None]).clamp(-7, 7)
        error = ((q * scale[:, None] - weight) ** 2).sum(dim=1)
        better = error < best_error
        best_error = torch.where(better, error, best_error)
        best_scale = torch.where(better, scale, best_scale)
        best_q = torch.where(better[:, None], q, best_q)
    return best_q.to(torch.int8).numpy(), best_scale.float().numpy()


def _pack4(q: np.ndarray) -> bytes:
    """Two 4-bit values a byte, ``q + 8``, the first in the low nibble."""
    flat = (q.reshape(-1).astype(np.int16) + 8).astype(np.uint8)
    if len(flat) % 2:
        flat = np.append(flat, np.uint8(8))
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()


def _unpack4(blob: bytes, count: int, offset: int) -> np.ndarray:
    packed = np.frombuffer(blob, np.uint8, (count + 1) // 2, offset)
    flat = np.empty(2 * len(packed), np.int8)
    flat[0::2] = (packed & 15).astype(np.int8) - 8
    flat[1::2] = (packed >> 4).astype(np.int8) - 8
    return flat[:count]


def _dtype(weights: int, film: bool) -> str:
    """How a layer of ``weights`` travels: the final generator, or a film frame."""
    if not film:
        return "f16" if weights <= HALF_MAX_WEIGHTS else "int8"
    if weights <= FILM_HALF_MAX_WEIGHTS:
        return "f16"
    return "int8" if weights <= FILM_INT4_MIN_WEIGHTS else "int4"


def _pad4(buffer: io.BytesIO) -> None:
    buffer.write(b"\0" * (-buffer.tell() % 4))


def _write_layers(
    buffer: io.BytesIO, layers: Sequence[Dense], *, film: bool = False
) -> list[dict[str, Any]]:
    meta = []
    for layer in layers:
        rows, cols = layer.weight.shape
        entry: dict[str, Any] = {
            "rows": int(rows),
            "cols": int(cols),
            "act": layer.act,
            "slope": float(layer.slope),
        }
        _pad4(buffer)
        entry["dtype"] = _dtype(rows * cols, film)
        if entry["dtype"] == "f16":
            half = layer.weight.numpy().astype("<f2")
            if not np.isfinite(half).all():
                raise ValueError("a layer's weights overflow float16; cannot export")
            entry["w"] = buffer.tell()
            buffer.write(half.tobytes())
        else:
            four = entry["dtype"] == "int4"
            q, scale = (_quantize4 if four else _quantize)(layer.weight)
            entry["q"] = buffer.tell()
            buffer.write(_pack4(q) if four else q.tobytes())
            _pad4(buffer)
            entry["scale"] = buffer.tell()
            buffer.write(scale.astype("<f4").tobytes())
        _pad4(buffer)
        entry["bias"] = buffer.tell()
        buffer.write(layer.bias.numpy().astype("<f4").tobytes())
        meta.append(entry)
    return meta


def dequantized_layers(
    meta: dict[str, Any], blob: bytes, index: int = -1
) -> list[Dense]:
    """Read the dense layers of snapshot ``index`` back from an export, as stored."""
    layers = []
    for entry in meta["models"][index]["layers"]:
        rows, cols = entry["rows"], entry["cols"]
        if entry["dtype"] == "f16":
            half = np.frombuffer(blob, "<f2", rows * cols, entry["w"])
            weight = half.astype(np.float32).reshape(rows, cols)
        else:
            if entry["dtype"] not in ("int8", "int4"):
                raise ValueError(f"unknown weights dtype {entry['dtype']!r} in meta")
            if entry["dtype"] == "int4":
                q = _unpack4(blob, rows * cols, entry["q"]).reshape(rows, cols)
            else:
                q = np.frombuffer(blob, np.int8, rows * cols, entry["q"])
                q = q.reshape(rows, cols)
            scale = np.frombuffer(blob, "<f4", rows, entry["scale"])
            weight = q.astype(np.float32) * scale[:, None]
        bias = np.frombuffer(blob, "<f4", rows, entry["bias"])
        layers.append(
            Dense(
                torch.from_numpy(weight.astype(np.float64)),
                torch.from_numpy(bias.astype(np.float64)),
                entry["act"],
                entry["slope"],
            )
        )
    return layers


def export_models(
    snapshots: Sequence[tuple[int, nn.Module]], *, bank: bool = True
) -> tuple[dict[str, Any], bytes]:
    """Pack generators (``[(step, generator), ...]``, last = the one to show).

    The last generator travels in int8 (small layers float16); the others are
    film frames and travel more coarsely (their largest layer in 4 bits).

    Returns
    -------
    meta : dict
        JSON-able description: latent size, one entry per model (its training
        step and the byte offsets of its layers), and where the noise bank is.
    blob : bytes
        The weights (int8 or int4 rows, float32 scales and biases) and the
        float16 bank.
    """
    if not snapshots:
        raise ValueError("snapshots must hold at least one (step, generator) pair")
    latent = latent_dim(snapshots[-1][1])
    buffer = io.BytesIO()
    models = []
    last = len(snapshots) - 1
    for index, (step, generator) in enumerate(snapshots):
        if latent_dim(generator) != latent:
            raise ValueError("every snapshot must have the same latent_dim")
        layers = fold_generator(generator)
        models.append(
            {
                "step": int(step),
                "layers": _write_layers(buffer, layers, film=index < last),
            }
        )
    meta: dict[str, Any] = {"format": FORMAT, "latent_dim": latent, "models": models}
    if bank:
        _pad4(buffer)
        values = noise_bank(latent)
        meta["bank"] = {
            "offset": buffer.tell(),
            "seeds": BANK_SEEDS,
            "samples": BANK_SAMPLES,
        }
        buffer.write(values.numpy().astype("<f2").tobytes())
    return meta, buffer.getvalue()


# --------------------------------------------------------------------------
# Noise: one definition for Python and the browser
# --------------------------------------------------------------------------


def _raw_latents(seed: int, count: int, latent_dim: int) -> torch.Tensor:
    """Draw standard normals for ``seed``, rounded to float16 (what the bank stores).

    The first :data:`BANK_SAMPLES` rows never depend on ``count``.
    """
    rng = torch.Generator().manual_seed(seed)
    first = torch.randn(BANK_SAMPLES, latent_dim, generator=rng)
    parts = [first[:count]]
    if count > BANK_SAMPLES:
        parts.append(torch.randn(count - BANK_SAMPLES, latent_dim, generator=rng))
    return torch.cat(parts).half().float()


def noise_bank(latent_dim: int) -> torch.Tensor:
    """Return the bank the page carries: ``(BANK_SEEDS, BANK_SAMPLES, latent_dim)``."""
    return torch.stack(
        [_raw_latents(seed, BANK_SAMPLES, latent_dim) for seed in range(BANK_SEEDS)]
    )


def truncate(z: torch.Tensor, threshold: float) -> torch.Tensor:
    """Map standard normal values onto a normal truncated to ``[-t, t]``.

    ``Phi^-1(Phi(-t) + Phi(z) (1 - 2 Phi(-t)))``: each value keeps its rank, and
    the result follows the truncated normal exactly, as redrawing would, but
    with no further random numbers (``generator.mjs`` computes the same).
    """
    t = check_number("truncation", threshold, minimum=0.0, inclusive=(False, True))
    z64 = z.double()
    low = torch.special.ndtr(torch.tensor(-t, dtype=torch.float64))
    u = low + torch.special.ndtr(z64) * (1.0 - 2.0 * low)
    return torch.special.ndtri(u).clamp(-t, t).to(z.dtype)


def latents(
    latent_dim: int,
    *,
    seed: int = 0,
    count: int = BANK_SAMPLES,
    noise_scale: float = 1.0,
    truncation: float = 0.0,
    shifts: Sequence[float] = (0.0, 0.0, 0.0),
) -> torch.Tensor:
    """Return the panel's noise ``(count, latent_dim)`` for one setting of the knobs.

    ``truncation`` 0 means none; then the vectors are scaled by ``noise_scale``
    and ``shifts`` are added to their first coordinates.
    """
    seed = check_seed("seed", seed)
    count = check_count("count", count, minimum=1)
    scale = check_number("noise_scale", noise_scale, minimum=0.0)
    cut = check_number("truncation", truncation, minimum=0.0)
    shift = [check_number(f"shifts[{i}]", s) for i, s in enumerate(shifts)]
    if len(shift) > latent_dim:
        raise ValueError(f"shifts has {len(shift)} values; the noise has {latent_dim}")
    z = _raw_latents(seed, count, latent_dim)
    if cut > 0:
        z = truncate(z, cut)
    z = z * scale
    z[:, : len(shift)] += torch.tensor(shift, dtype=z.dtype)
    return z


def label_weights(
    digit: int, blend_toward: int | None, blend: float, count: int
) -> torch.Tensor:
    """``(count, 10)`` label weights: ``1 - blend`` on ``digit``, ``blend`` on the other."""
    weights = torch.zeros(count, 10)
    weights[:, digit] = 1.0 - (blend if blend_toward is not None else 0.0)
    if blend_toward is not None:
        weights[:, blend_toward] += blend
    return weights


def forward_layers(
    layers: Sequence[Dense], z: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Run exported layers in torch (float32), as the browser does: images in [0, 1].

    Returns
    -------
    torch.Tensor
        ``(N, 28, 28)``.
    """
    x = torch.cat([z.float(), labels.float()], dim=1)
    for layer in layers:
        x = x @ layer.weight.float().T + layer.bias.float()
        if layer.act == "relu":
            x = torch.relu(x)
        elif layer.act == "leaky_relu":
            x = torch.nn.functional.leaky_relu(x, layer.slope)
        elif layer.act == "tanh":
            x = torch.tanh(x)
        elif layer.act == "sigmoid":
            x = torch.sigmoid(x)
    return ((x + 1) / 2).view(-1, 28, 28)
