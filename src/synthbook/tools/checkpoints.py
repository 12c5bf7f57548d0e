"""Checkpoints and samples for the command line, with every failure made a clear message.

Reading a checkpoint can fail in many ways (a folder, a damaged file, a file
from another version, a file that is not plain data); each becomes a
:class:`ValueError` naming the option and the fix. Writing one never loses a
trained model: if ``--out`` cannot be written after training, the model is
kept in the temporary folder and the message says where.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from synthbook import gan
from synthbook.cache import CorruptCacheError, UnsafeCacheError, open_atomic
from synthbook.gan import TrainResult
from synthbook.validate import check_input_file

#: Images generated at once by ``sample`` (the result is the same as in one batch).
SAMPLE_BATCH = 2_000


def save_without_losing(result: TrainResult, out: Path) -> Path:
    """Write the checkpoint to ``out``; if that fails, keep it elsewhere and say where."""
    try:
        gan.save_checkpoint(result, out)
        if out.is_file():
            return out
        reason = "it was not written"
    except OSError as err:
        reason = err.strerror or str(err)
    rescue = Path(tempfile.gettempdir()) / f"synthbook-rescued-{os.getpid()}.pt"
    gan.save_checkpoint(result, rescue)
    print(
        f"error: cannot write --out {out} ({reason}); the trained model is safe in "
        f"{rescue}: move it where you want it",
        file=sys.stderr,
    )
    return rescue


def load_for_command(path: Path, option: str = "--checkpoint") -> TrainResult:
    """Load a checkpoint, turning every way it can be wrong into one clear line.

    Raises
    ------
    ValueError, FileNotFoundError, PermissionError
        With a message that names ``option``, the path and the fix.
    """
    check_input_file(option, path)
    try:
        return gan.load_checkpoint(path)
    except UnsafeCacheError as err:
        raise ValueError(
            f"{option} {path} holds objects other than tensors and numbers, so it "
            f"was not written by synthbook; it is refused, and must not be loaded "
            f"with weights_only=False. Write a checkpoint with train-gan"
        ) from err
    except CorruptCacheError as err:
        raise ValueError(
            f"{option} {path} is not a synthbook checkpoint, or it is damaged "
            f"({err}); write one with train-gan"
        ) from err
    except (TypeError, KeyError, RuntimeError, AttributeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"{option} {path} was written by another version of synthbook (or "
            f"for another GAN recipe) and this version cannot read it ({first[:160]}); "
            f"train a new one with train-gan"
        ) from err
    except ValueError as err:
        raise ValueError(f"{option}: {err}") from err


def write_samples(
    result: TrainResult, per_class: int, seed: int, out: Path
) -> torch.Tensor:
    """Write ``per_class`` samples of every digit to the ``.npz`` file ``out``.

    The noise for all samples is drawn at once and the images are generated in
    batches of :data:`SAMPLE_BATCH`: the same numbers as one call of
    ``gan.generate(generator, labels, seed=seed)``, in less memory.

    Returns
    -------
    torch.Tensor
        The labels written, digit by digit.
    """
    labels = gan.class_labels(per_class)
    z = gan.sample_latents(len(labels), result.generator.latent_dim, seed=seed)
    images = torch.cat(
        [
            gan.generate(
                result.generator,
                labels[i : i + SAMPLE_BATCH],
                z=z[i : i + SAMPLE_BATCH],
            )
            for i in range(0, len(labels), SAMPLE_BATCH)
        ]
    )
    with open_atomic(out) as handle:
        np.savez_compressed(
            handle,
            images=images.numpy().astype(np.float32),
            labels=labels.numpy().astype(np.int64),
        )
    return labels
