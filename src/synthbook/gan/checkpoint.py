"""Saving, loading and caching trained GANs.

A checkpoint holds plain types and tensors only (it loads with
``weights_only=True``), a checksum (see :mod:`synthbook.cache`) and a format
version: a checkpoint written by another version of the package is refused
with a message saying so, never half-loaded.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthbook.cache import (
    cache_dir,
    load_checked,
    load_or_none,
    make_key,
    save_checked,
)
from synthbook.data import MnistData
from synthbook.gan import models, train
from synthbook.gan.models import GANConfig, build_models
from synthbook.gan.train import BOOK_STEPS, HISTORY_KEYS, TrainResult
from synthbook.validate import check_count, check_seed
from synthbook.versions import code_version

#: Version of the checkpoint layout; a checkpoint of another version is refused.
FORMAT_VERSION = 2
_RETRAIN = (
    "retrain with `python -m synthbook train-gan --out FILE` (or gan.train_gan) "
    "using this version"
)


class CheckpointVersionError(ValueError):
    """A checkpoint written by another version of synthbook (or for another recipe)."""


def training_code_version() -> str:
    """Version of the code that shapes a trained GAN (networks, recipe, loop).

    Sampling and saving code, comments and docstrings do not enter it, so
    editing them keeps the cached models.
    """
    return code_version(models, train)


def result_to_state(result: TrainResult) -> dict[str, Any]:
    """Return a trained GAN as plain types and tensors (what a checkpoint holds)."""
    history: dict[str, Any] = {
        k: [float(v) for v in result.history.get(k, [])] for k in HISTORY_KEYS
    }
    history["step"] = [int(s) for s in result.history.get("step", [])]
    history["film"] = [
        {
            "step": int(f["step"]),
            "per_row": int(f["per_row"]),
            "images": torch.as_tensor(np.asarray(f["images"], dtype=np.float32)),
        }
        for f in result.history.get("film", [])
    ]
    return {
        "format": FORMAT_VERSION,
        "generator": result.generator.state_dict(),
        "discriminator": result.discriminator.state_dict(),
        "config": asdict(result.config),
        "history": history,
        "steps": int(result.steps),
        "seconds": float(result.seconds),
        "snapshots": [{"step": int(s), "generator": g} for s, g in result.snapshots],
    }


def result_from_state(state: Any, source: str = "the checkpoint") -> TrainResult:
    """Rebuild a :class:`TrainResult` from :func:`result_to_state`'s output.

    Raises
    ------
    CheckpointVersionError
        If ``state`` was written by another version of synthbook, or its
        weights do not fit the networks its recipe describes.
    """
    found = state.get("format") if isinstance(state, dict) else None
    if found != FORMAT_VERSION:
        raise CheckpointVersionError(
            f"{source} was written by another version of synthbook (checkpoint "
            f"format {found if found is not None else 'without a version'}; this "
            f"version reads format {FORMAT_VERSION}): {_RETRAIN}"
        )
    try:
        config = GANConfig(**state["config"])
        generator, discriminator = build_models(config)
        generator.load_state_dict(state["generator"])
        discriminator.load_state_dict(state["discriminator"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointVersionError(
            f"{source} was written by another version of synthbook or for another "
            f"recipe (its networks do not match: {str(err).splitlines()[0]}): {_RETRAIN}"
        ) from err
    generator.eval()
    discriminator.eval()
    history = dict(state["history"])
    history["film"] = [
        {"step": f["step"], "per_row": f["per_row"], "images": f["images"].numpy()}
        for f in history.get("film", [])
    ]
    snapshots = [(int(s["step"]), s["generator"]) for s in state["snapshots"]]
    return TrainResult(
        generator,
        discriminator,
        config,
        history,
        int(state["steps"]),
        float(state["seconds"]),
        snapshots,
    )


def save_checkpoint(result: TrainResult, path: str | Path) -> Path:
    """Write a trained GAN to ``path`` atomically, with a checksum; return the path."""
    return save_checked(path, result_to_state(result))


def load_checkpoint(path: str | Path) -> TrainResult:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    synthbook.cache.CorruptCacheError
        If the file is truncated or damaged.
    CheckpointVersionError
        If it was written by another version of synthbook (or is not a GAN
        checkpoint at all).
    """
    state = load_checked(path)
    if not isinstance(state, dict) or "generator" not in state:
        raise CheckpointVersionError(
            f"{path} is not a synthbook GAN checkpoint (write one with train-gan)"
        )
    return result_from_state(state, source=str(path))


def generator_from_snapshot(
    config: GANConfig, state: dict[str, torch.Tensor]
) -> torch.nn.Module:
    """Return a generator (eval mode) with the weights of one of ``result.snapshots``."""
    generator, _ = build_models(config)
    generator.load_state_dict(state)
    return generator.eval()


def checkpoint_path(
    data: MnistData, config: GANConfig, *, steps: int, seed: int
) -> Path:
    """Where :func:`load_or_train` caches this model."""
    key = make_key(
        config=asdict(config),
        data=data.fingerprint(),
        steps=steps,
        seed=seed,
        threads=torch.get_num_threads(),
        code=training_code_version(),
        format=FORMAT_VERSION,
    )
    return cache_dir("gan") / f"gan-{key}.pt"


def load_or_train(
    data: MnistData,
    config: GANConfig | None = None,
    *,
    steps: int = BOOK_STEPS,
    seed: int = 0,
    progress: bool = True,
) -> TrainResult:
    """Return the cached GAN for these inputs, training (and caching) it if needed.

    The cache key covers the recipe, the data's fingerprint, the step budget,
    the seed, torch's thread count and the training code's version
    (:func:`training_code_version`), so a change to any of them trains a new
    model. A damaged or outdated cache file is reported (a warning) and rebuilt.
    """
    config = GANConfig() if config is None else config
    steps = check_count("steps", steps, minimum=1)
    seed = check_seed("seed", seed)
    path = checkpoint_path(data, config, steps=steps, seed=seed)
    state = load_or_none(path)
    if state is not None:
        try:
            return result_from_state(state, source=str(path))
        except CheckpointVersionError as err:
            warnings.warn(f"retraining an outdated cache entry: {err}", stacklevel=2)
    result = train.train_gan(data, config, steps=steps, seed=seed, progress=progress)
    save_checkpoint(result, path)
    return result
