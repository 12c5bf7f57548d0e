"""A tiny conditional GAN that trains on a laptop CPU in about a minute.

The recipe, and why (each choice measured on two CPU cores, see
``python -m synthbook bench gan``):

- **MLP generator and discriminator** (about 0.5M parameters each): on a CPU a
  small MLP does many more updates per second than a convolutional network,
  and on MNIST, within a minute, updates matter more than inductive bias.
- **Projection discriminator** {Miyato & Koyama 2018}: the label enters the
  discriminator as an inner product with its features, a much stronger
  conditioning signal than concatenating a one-hot vector.
- **Auxiliary classifier** {Odena et al. 2017}: the discriminator also
  predicts the digit of real images, and the generator is rewarded when its
  digits are read as the digit asked for. This is what makes samples legible
  as their label early in training. Its weight is kept below 1 because a
  strong classifier loss pulls every sample towards the most typical digit.
- **Hinge loss** with Adam (``lr=2e-4``, ``betas=(0.5, 0.999)``), batch 64.
- **Exponential moving average of the generator's weights** {Yazici et al.
  2019}: the generator we sample from is the running average of the one being
  trained. It costs almost nothing and smooths out the last few hundred
  updates' oscillations.

``arch="keras-cgan"`` re-implements the network of the Keras conditional-GAN
example (convolutions, labels concatenated to the inputs) as a baseline.

Every public function returns images as ``float32`` tensors of shape
``(N, 28, 28)`` in ``[0, 1]`` (white digit on black, as in MNIST).
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synthbook.cache import (
    cache_dir,
    load_checked,
    load_or_none,
    make_key,
    save_checked,
)
from synthbook.data import MnistData
from synthbook.validate import check_count

#: Training steps used by the book: about a minute on two otherwise idle CPU cores.
BOOK_STEPS = 4000
#: Fixed noise for the "training film": this many samples per digit.
FILM_PER_DIGIT = 6
ARCHES = ("mlp", "conv", "keras-cgan")
LOSSES = ("hinge", "bce")
HISTORY_KEYS = ("g_loss", "d_loss", "d_real", "d_fake", "d_accuracy")
_CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class GANConfig:
    """Everything that defines a GAN recipe (and so a cache entry).

    Attributes
    ----------
    arch : {"mlp", "conv", "keras-cgan"}
        The tiny MLP (default), a small convolutional variant, or the network
        of the Keras conditional-GAN example (a baseline; slow on a CPU).
    latent_dim : int
        Length of the noise vector z.
    width : int
        Width of the hidden layers (the MLP's first generator layer).
    batch_size : int
        Real images (and as many generated ones) per step.
    lr_g, lr_d : float
        Adam learning rates of generator and discriminator.
    beta1, beta2 : float
        Adam's moment coefficients.
    loss : {"hinge", "bce"}
        Adversarial loss: hinge, or the original non-saturating cross-entropy.
    projection : bool
        Condition the discriminator by projection (else by concatenating the
        one-hot label to its input).
    aux_weight : float
        Weight of the auxiliary classification loss (0 turns it off).
    ema_decay : float
        Decay of the moving average of the generator's weights; 0 samples from
        the trained generator itself.
    d_dropout : float
        Dropout after each hidden layer of the MLP discriminator: with 3,000
        images the discriminator otherwise soon memorises the training set.
    film_every : int
        Record a frame of the training film every this many steps.
    """

    arch: str = "mlp"
    latent_dim: int = 32
    width: int = 256
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 4e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "hinge"
    projection: bool = True
    aux_weight: float = 0.5
    ema_decay: float = 0.999
    d_dropout: float = 0.0
    film_every: int = 500

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            raise ValueError(
                f"unknown arch {self.arch!r}: use one of {', '.join(ARCHES)}"
            )
        if self.loss not in LOSSES:
            raise ValueError(
                f"unknown loss {self.loss!r}: use one of {', '.join(LOSSES)}"
            )
        for name in ("latent_dim", "width", "batch_size", "film_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.lr_g <= 0 or self.lr_d <= 0:
            raise ValueError(
                f"learning rates must be positive, got {self.lr_g} and {self.lr_d}"
            )
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("Adam betas must be in [0, 1)")
        if self.aux_weight < 0:
            raise ValueError(
                f"aux_weight must be >= 0 (0 turns it off), got {self.aux_weight}"
            )
        if not 0 <= self.d_dropout < 1:
            raise ValueError(f"d_dropout must be in [0, 1), got {self.d_dropout}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(
                f"ema_decay must be in [0, 1) (0 turns it off), got {self.ema_decay}"
            )


def _as_soft_labels(labels: torch.Tensor) -> torch.Tensor:
    """Int labels (B,) become one-hot rows; a float (B, 10) matrix passes through."""
    if not labels.is_floating_point():
        if labels.ndim != 1:
            raise ValueError(
                f"integer labels must be 1-D, got shape {tuple(labels.shape)}"
            )
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > 9):
            raise ValueError("labels must be digits 0 to 9")
        return F.one_hot(labels.long(), 10).float()
    if labels.ndim != 2 or labels.shape[1] != 10:
        raise ValueError(
            f"float labels must be a (B, 10) matrix of label weights, got {tuple(labels.shape)}; "
            "pass digits as an int64 tensor"
        )
    return labels.float()


class Generator(nn.Module):
    """Map noise ``z`` and a label to a ``(B, 1, 28, 28)`` image in ``[-1, 1]``.

    The label may be an int64 vector of digits or a float ``(B, 10)`` matrix of
    label weights, so that labels can be blended (class interpolation).
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.arch = config.arch
        w = config.width
        if config.arch == "keras-cgan":
            # Keras example: [z, one-hot] -> Dense(7*7*c) -> 2 transposed convolutions.
            c = config.latent_dim + 10
            self.embed = nn.Identity()
            self.body = nn.Sequential(
                nn.Linear(c, 7 * 7 * c),
                nn.LeakyReLU(0.2),
                nn.Unflatten(1, (c, 7, 7)),
                nn.ConvTranspose2d(c, 128, 4, 2, 1),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(128, 128, 4, 2, 1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(128, 1, 7, padding=3),
                nn.Tanh(),
            )
            return
        self.embed = nn.Linear(10, config.latent_dim, bias=False)
        if config.arch == "mlp":
            self.body = nn.Sequential(
                nn.Linear(2 * config.latent_dim, w),
                nn.BatchNorm1d(w),
                nn.ReLU(),
                nn.Linear(w, 2 * w),
                nn.BatchNorm1d(2 * w),
                nn.ReLU(),
                nn.Linear(2 * w, 784),
                nn.Tanh(),
            )
        else:
            self.body = nn.Sequential(
                nn.Linear(2 * config.latent_dim, 64 * 7 * 7),
                nn.BatchNorm1d(64 * 7 * 7),
                nn.ReLU(),
                nn.Unflatten(1, (64, 7, 7)),
                nn.ConvTranspose2d(64, 32, 4, 2, 1),
                nn.BatchNorm2d(32),
                nn.ReLU(),
                nn.ConvTranspose2d(32, 1, 4, 2, 1),
                nn.Tanh(),
            )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Generate images for noise ``z`` (B, latent_dim) and labels (B,) or (B, 10)."""
        h = torch.cat([z, self.embed(_as_soft_labels(labels))], dim=1)
        return self.body(h).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    """Score images as real or generated, given a label; also predict the digit.

    ``forward`` returns ``(score, class_logits)``: the real/fake logit, shape
    ``(B,)``, and the auxiliary classifier's digit logits, shape ``(B, 10)``.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.projection = config.projection
        w = config.width
        extra = (
            0 if config.projection else 10
        )  # one-hot label concatenated to the input
        if config.arch == "mlp":
            self.features = nn.Sequential(
                nn.Linear(784 + extra, 2 * w),
                nn.LeakyReLU(0.2),
                nn.Dropout(config.d_dropout),
                nn.Linear(2 * w, w),
                nn.LeakyReLU(0.2),
                nn.Dropout(config.d_dropout),
            )
        elif config.arch == "conv":
            self.features = nn.Sequential(
                nn.Conv2d(1 + extra, 32, 4, 2, 1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(32, 64, 4, 2, 1),
                nn.LeakyReLU(0.2),
                nn.Flatten(),
                nn.Linear(64 * 7 * 7, w),
                nn.LeakyReLU(0.2),
            )
        else:
            w = 128  # the Keras example's global max-pooled features
            self.features = nn.Sequential(
                nn.Conv2d(1 + extra, 64, 3, 2, 1),
                nn.LeakyReLU(0.2),
                nn.Conv2d(64, 128, 3, 2, 1),
                nn.LeakyReLU(0.2),
                nn.AdaptiveMaxPool2d(1),
                nn.Flatten(),
            )
        self.is_mlp = config.arch == "mlp"
        self.out = nn.Linear(w, 1)
        self.embed = nn.Linear(10, w, bias=False)
        self.classify = nn.Linear(w, 10)

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (real/fake logits (B,), digit logits (B, 10)) for images in ``[-1, 1]``."""
        soft = _as_soft_labels(labels)
        x = images.view(-1, 1, 28, 28)
        if self.is_mlp:
            x = x.flatten(1)
            if not self.projection:
                x = torch.cat([x, soft], dim=1)
        elif not self.projection:
            planes = soft.view(-1, 10, 1, 1).expand(-1, 10, 28, 28)
            x = torch.cat([x, planes], dim=1)
        h = self.features(x)
        score = self.out(h).squeeze(1)
        if self.projection:
            score = score + (self.embed(soft) * h).sum(dim=1)
        return score, self.classify(h)


def build_models(config: GANConfig) -> tuple[Generator, Discriminator]:
    """Return a freshly initialised generator and discriminator for ``config``."""
    return Generator(config), Discriminator(config)


@dataclass
class TrainResult:
    """A trained GAN and the record of its training.

    Attributes
    ----------
    generator : Generator
        The generator to sample from (the moving average when
        ``config.ema_decay > 0``), in eval mode.
    discriminator : Discriminator
        The discriminator at the end of training, in eval mode.
    config : GANConfig
    history : dict
        ``"step"`` and one list per entry of :data:`HISTORY_KEYS` (one value
        per step), and ``"film"``: frames ``{"step", "per_row", "images"}``
        generated from fixed noise, one row per digit.
    steps : int
        Steps done.
    seconds : float
        Wall-clock training time.
    """

    generator: Generator
    discriminator: Discriminator
    config: GANConfig
    history: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0


def _adversarial_losses(
    config: GANConfig, real_score: torch.Tensor, fake_score: torch.Tensor
) -> torch.Tensor:
    if config.loss == "hinge":
        return F.relu(1.0 - real_score).mean() + F.relu(1.0 + fake_score).mean()
    return F.binary_cross_entropy_with_logits(
        real_score, torch.ones_like(real_score)
    ) + F.binary_cross_entropy_with_logits(fake_score, torch.zeros_like(fake_score))


def train_step(
    generator: Generator,
    discriminator: Discriminator,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    labels: torch.Tensor,
    config: GANConfig,
    rng: torch.Generator,
) -> dict[str, float]:
    """One round of the contest: update discriminator once, then generator once.

    ``real`` holds images in ``[-1, 1]``; ``labels`` their digits.
    """
    z = torch.randn(len(real), config.latent_dim, generator=rng)
    fake = generator(z, labels)

    # The discriminator learns to score real digits high and generated ones low,
    # and to name the digit of real images (the auxiliary classifier).
    real_score, real_class = discriminator(real, labels)
    fake_score, _ = discriminator(fake.detach(), labels)
    d_loss = _adversarial_losses(config, real_score, fake_score)
    if config.aux_weight > 0:
        d_loss = d_loss + config.aux_weight * F.cross_entropy(real_class, labels)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()

    # The generator learns to be scored as real, and to be read as its label.
    fake_score_g, fake_class = discriminator(fake, labels)
    if config.loss == "hinge":
        g_loss = -fake_score_g.mean()
    else:
        g_loss = F.binary_cross_entropy_with_logits(
            fake_score_g, torch.ones_like(fake_score_g)
        )
    if config.aux_weight > 0:
        g_loss = g_loss + config.aux_weight * F.cross_entropy(fake_class, labels)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()

    with torch.no_grad():
        correct = (real_score > 0).float().mean() + (fake_score < 0).float().mean()
    return {
        "g_loss": g_loss.item(),
        "d_loss": d_loss.item(),
        "d_real": float(torch.sigmoid(real_score.detach()).mean()),
        "d_fake": float(torch.sigmoid(fake_score.detach()).mean()),
        "d_accuracy": float(correct / 2),
    }


@torch.no_grad()
def _update_average(average: nn.Module, model: nn.Module, decay: float) -> None:
    for avg, new in zip(average.parameters(), model.parameters(), strict=True):
        avg.lerp_(new, 1.0 - decay)
    # BatchNorm statistics are not averaged: the latest ones match the latest weights well
    # enough, and copying keeps eval-mode sampling consistent.
    for avg, new in zip(average.buffers(), model.buffers(), strict=True):
        avg.copy_(new)


def _to_model_range(images: torch.Tensor) -> torch.Tensor:
    return images.view(-1, 1, 28, 28) * 2.0 - 1.0


def _to_image_range(images: torch.Tensor) -> torch.Tensor:
    return ((images.view(-1, 28, 28) + 1.0) / 2.0).clamp(0.0, 1.0)


def _callback_wants_generator(callback: Callable[..., Any]) -> bool:
    """Say whether ``callback`` takes a third positional argument (the generator)."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


def train_gan(
    data: MnistData,
    config: GANConfig | None = None,
    *,
    seconds: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[..., None] | None = None,
) -> TrainResult:
    """Train a conditional GAN until a time or step budget runs out.

    Parameters
    ----------
    data : MnistData
        Real training images and labels.
    config : GANConfig, optional
        The recipe; defaults to ``GANConfig()``.
    seconds : float, optional
        Wall-clock budget. Results then depend on the machine's speed.
    steps : int, optional
        Step budget: the same seed and thread count give identical models.
        With both budgets, training stops at whichever runs out first.
    seed : int, default 0
        Seeds the weights, the batch order and the noise (local generators;
        the global RNG is only used to initialise the weights).
    progress : bool, default True
        Show a tqdm progress bar.
    callback : callable, optional
        Called after every step as ``callback(step, history)``, or as
        ``callback(step, history, generator)`` if it takes three arguments
        (the generator to sample from, for example to keep snapshots).

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        If no budget is given, a budget is not positive, or there are fewer
        images than one batch.
    """
    config = config or GANConfig()
    if seconds is None and steps is None:
        raise ValueError(
            "give a budget: seconds=..., steps=..., or both "
            f"(the book uses steps=gan.BOOK_STEPS={BOOK_STEPS})"
        )
    if seconds is not None and seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if len(data) < config.batch_size:
        raise ValueError(
            f"need at least batch_size={config.batch_size} images, got {len(data)}; "
            "use more data or a smaller batch_size"
        )

    torch.manual_seed(seed)
    generator, discriminator = build_models(config)
    average = copy.deepcopy(generator) if config.ema_decay > 0 else None
    sampler = average if average is not None else generator
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_d, betas=betas)
    rng = torch.Generator().manual_seed(seed)
    real_all = _to_model_range(data.images)
    labels_all = data.labels
    film_z = torch.randn(
        10 * FILM_PER_DIGIT,
        config.latent_dim,
        generator=torch.Generator().manual_seed(10_000 + seed),
    )
    film_labels = torch.arange(10).repeat_interleave(FILM_PER_DIGIT)
    history: dict[str, Any] = {"step": [], **{k: [] for k in HISTORY_KEYS}, "film": []}
    pass_generator = callback is not None and _callback_wants_generator(callback)

    def record_frame(step: int) -> None:
        sampler.eval()
        with torch.no_grad():
            frame = _to_image_range(sampler(film_z, film_labels))
        sampler.train()
        history["film"].append(
            {
                "step": step,
                "per_row": FILM_PER_DIGIT,
                "images": frame.numpy().astype(np.float32),
            }
        )

    bar = tqdm(total=steps, disable=not progress, desc="training GAN", unit="step")
    started = time.perf_counter()
    step = 0
    order = torch.randperm(len(data), generator=rng)
    cursor = 0
    record_frame(0)
    while True:
        if steps is not None and step >= steps:
            break
        if seconds is not None and time.perf_counter() - started >= seconds:
            break
        if cursor + config.batch_size > len(order):
            order, cursor = torch.randperm(len(data), generator=rng), 0
        idx = order[cursor : cursor + config.batch_size]
        cursor += config.batch_size
        stats = train_step(
            generator,
            discriminator,
            opt_g,
            opt_d,
            real_all[idx],
            labels_all[idx],
            config,
            rng,
        )
        step += 1
        if average is not None:
            # Warm-up: early on the average would be dominated by the random initial weights.
            _update_average(
                average, generator, min(config.ema_decay, (1 + step) / (10 + step))
            )
        history["step"].append(step)
        for k in HISTORY_KEYS:
            history[k].append(stats[k])
        if step % config.film_every == 0:
            record_frame(step)
        if callback is not None:
            if pass_generator:
                callback(step, history, sampler)
            else:
                callback(step, history)
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(d_acc=f"{stats['d_accuracy']:.2f}")
    bar.close()
    if history["film"][-1]["step"] != step:
        record_frame(step)
    elapsed = time.perf_counter() - started
    sampler.eval()
    discriminator.eval()
    return TrainResult(sampler, discriminator, config, history, step, elapsed)


# --------------------------------------------------------------------------
# Saving, loading and the cache
# --------------------------------------------------------------------------


def _result_to_state(result: TrainResult) -> dict[str, Any]:
    # Plain types and tensors only, so that the file loads with weights_only=True.
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
        "generator": result.generator.state_dict(),
        "discriminator": result.discriminator.state_dict(),
        "config": asdict(result.config),
        "history": history,
        "steps": int(result.steps),
        "seconds": float(result.seconds),
        "code_version": _CODE_VERSION,
    }


def _state_to_result(state: dict[str, Any]) -> TrainResult:
    config = GANConfig(**state["config"])
    generator, discriminator = build_models(config)
    generator.load_state_dict(state["generator"])
    discriminator.load_state_dict(state["discriminator"])
    generator.eval()
    discriminator.eval()
    history = dict(state["history"])
    history["film"] = [
        {"step": f["step"], "per_row": f["per_row"], "images": f["images"].numpy()}
        for f in history.get("film", [])
    ]
    return TrainResult(
        generator,
        discriminator,
        config,
        history,
        int(state["steps"]),
        float(state["seconds"]),
    )


def save_checkpoint(result: TrainResult, path: str | Path) -> Path:
    """Write a trained GAN to ``path`` atomically, with a checksum.

    Returns
    -------
    Path
        The file written.
    """
    return save_checked(path, _result_to_state(result))


def load_checkpoint(path: str | Path) -> TrainResult:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    synthbook.cache.CorruptCacheError
        If the file is truncated or damaged.
    ValueError
        If it is a valid cache file but not a GAN checkpoint.
    """
    state = load_checked(path)
    if not isinstance(state, dict) or "generator" not in state or "config" not in state:
        raise ValueError(
            f"{path} is not a synthbook GAN checkpoint (write one with train-gan)"
        )
    return _state_to_result(state)


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
        code=_CODE_VERSION,
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
    the seed, torch's thread count and this module's source code, so a change
    to any of them trains a new model. A damaged cache file is reported (a
    warning) and rebuilt.
    """
    config = config or GANConfig()
    path = checkpoint_path(data, config, steps=steps, seed=seed)
    state = load_or_none(path)
    if state is not None:
        return _state_to_result(state)
    result = train_gan(data, config, steps=steps, seed=seed, progress=progress)
    save_checkpoint(result, path)
    return result


# --------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------


def class_labels(per_class: int) -> torch.Tensor:
    """Return the digits 0 to 9, each repeated ``per_class`` times (int64).

    ``class_labels(2)`` is ``tensor([0, 0, 1, 1, ..., 9, 9])``: the labels for a
    class-balanced sample, digit by digit.
    """
    n = check_count("per_class", per_class, minimum=0)
    return torch.arange(10).repeat_interleave(n)


def sample_latents(
    n: int,
    latent_dim: int,
    seed: int = 0,
    truncation: float | None = None,
    noise_scale: float = 1.0,
) -> torch.Tensor:
    """Draw ``n`` noise vectors from a seeded local generator (the global RNG is untouched).

    Parameters
    ----------
    n, latent_dim : int
        How many vectors, and their length.
    seed : int, default 0
    truncation : float, optional
        Redraw coordinates whose absolute value is above this threshold (the
        "truncation trick" of Brock et al. 2019): smaller means more typical
        digits and less variety. None: no truncation.
    noise_scale : float, default 1.0
        Multiply the noise: above 1 reaches regions rarely seen in training
        ("edge cases"), below 1 stays near the most typical digits.

    Returns
    -------
    torch.Tensor
        ``(n, latent_dim)``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be positive, got {latent_dim}")
    if truncation is not None and truncation <= 0:
        raise ValueError(
            f"truncation must be positive (or None for none), got {truncation}"
        )
    if noise_scale < 0:
        raise ValueError(f"noise_scale must be >= 0, got {noise_scale}")
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latent_dim, generator=rng)
    if truncation is not None:
        for _ in range(100):
            outside = z.abs() > truncation
            if not outside.any():
                break
            z[outside] = torch.randn(int(outside.sum()), generator=rng)
        z = z.clamp(
            -truncation, truncation
        )  # tiny thresholds may never be met by redrawing
    return z * noise_scale


def generate(
    generator: Generator,
    labels: int | Sequence[int] | torch.Tensor | np.ndarray,
    n: int | None = None,
    *,
    seed: int = 0,
    truncation: float | None = None,
    noise_scale: float = 1.0,
    z: torch.Tensor | None = None,
) -> torch.Tensor:
    """Generate digits: ``n`` of one label, or one per label given.

    Parameters
    ----------
    generator : Generator
        Put in eval mode for the call (and restored afterwards).
    labels : int, sequence of int, or tensor
        A digit (then ``n`` samples of it), a sequence or int tensor of digits
        (one sample each), or a float ``(N, 10)`` matrix of label weights
        (blends of digits).
    n : int, optional
        Number of samples when ``labels`` is a single digit.
    seed, truncation, noise_scale
        See :func:`sample_latents`.
    z : torch.Tensor, optional
        Use these noise vectors, ``(N, latent_dim)``, instead of sampling
        (``seed``, ``truncation`` and ``noise_scale`` are then ignored).

    Returns
    -------
    torch.Tensor
        ``float32``, ``(N, 28, 28)`` in ``[0, 1]``, white digit on black.
    """
    if isinstance(labels, int | np.integer):
        if n is None or n < 1:
            raise ValueError(
                f"with a single digit, give n >= 1 samples to generate (got n={n})"
            )
        if not 0 <= int(labels) <= 9:
            raise ValueError(f"labels must be digits 0 to 9, got {labels}")
        label_tensor = torch.full((n,), int(labels), dtype=torch.int64)
    else:
        if n is not None:
            raise ValueError(
                "n is only for a single digit; with several labels you get one each"
            )
        label_tensor = torch.as_tensor(
            np.asarray(labels) if not torch.is_tensor(labels) else labels
        )
        if not label_tensor.is_floating_point():
            label_tensor = label_tensor.long()
    _as_soft_labels(label_tensor)  # validates shape and range
    count = len(label_tensor)
    if count < 1:
        raise ValueError("no labels given: nothing to generate")
    if z is None:
        z = sample_latents(
            count,
            generator.latent_dim,
            seed=seed,
            truncation=truncation,
            noise_scale=noise_scale,
        )
    elif tuple(z.shape) != (count, generator.latent_dim):
        expected = (count, generator.latent_dim)
        raise ValueError(
            f"z must have shape {expected} (one row per label), got {tuple(z.shape)}"
        )
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        images = _to_image_range(generator(z.float(), label_tensor))
    generator.train(was_training)
    return images.float()


def interpolate(
    generator: Generator,
    *,
    z_start: torch.Tensor | None = None,
    z_end: torch.Tensor | None = None,
    label_start: int,
    label_end: int,
    steps: int = 8,
    seed: int = 0,
) -> torch.Tensor:
    """Walk in a straight line between two (noise, label) points.

    The label moves as a linear mix of the two one-hot vectors. Noise vectors
    that are not given are drawn from ``seed``: leave both out to blend labels
    only (same noise throughout), or give the same label twice to move through
    noise only.

    Returns
    -------
    torch.Tensor
        ``(steps, 28, 28)`` images in ``[0, 1]`` from start to end.
    """
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    for label in (label_start, label_end):
        if not 0 <= int(label) <= 9:
            raise ValueError(f"labels must be digits 0 to 9, got {label}")
    base = sample_latents(2, generator.latent_dim, seed=seed)
    start = base[0] if z_start is None else z_start.reshape(-1)
    if z_end is not None:
        end = z_end.reshape(-1)
    else:
        end = start if z_start is None else base[1]
    for name, vector in (("z_start", start), ("z_end", end)):
        if vector.numel() != generator.latent_dim:
            raise ValueError(
                f"{name} must have {generator.latent_dim} values, got {vector.numel()}"
            )
    weights = torch.linspace(0.0, 1.0, steps).view(-1, 1)
    z = (1 - weights) * start + weights * end
    labels = torch.zeros(steps, 10)
    labels[:, int(label_start)] += 1 - weights.view(-1)
    labels[:, int(label_end)] += weights.view(-1)
    return generate(generator, labels, z=z)
