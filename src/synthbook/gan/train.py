"""Training the conditional GAN: the losses, one step, and the loop.

There is one training loop, :func:`train_gan`. What changes between the
book's plain GAN and its differentially private one is only how the
discriminator learns from a batch: that is a :class:`DiscriminatorUpdate`
(the plain one: shuffled batches and Adam), which the privacy chapter
replaces by DP-SGD. History, the moving average of the generator, the
training film and the snapshots are the same for both.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synthbook.data import MnistData
from synthbook.gan.models import GANConfig, build_models, to_unit_range
from synthbook.repro import hide_progress
from synthbook.validate import check_count, check_finite, check_number, check_seed

#: Training steps of the book's GAN (``python -m synthbook bench gan``: the
#: recipe meets its quality targets by then, for every seed measured).
BOOK_STEPS = 2000
#: Fixed noise for the "training film": this many samples per digit.
FILM_PER_DIGIT = 6
#: Generator snapshots kept for the browser's training film (step 0 included).
SNAPSHOTS = 5
HISTORY_KEYS = ("g_loss", "d_loss", "d_real", "d_fake", "d_accuracy")

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
Builder = Callable[[GANConfig], tuple[nn.Module, nn.Module]]


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
    snapshots : list of (int, dict)
        ``(step, state_dict)`` of the generator to sample from, at step 0 and
        at :data:`SNAPSHOTS` - 1 more steps spread over training, the last
        one included.
    """

    generator: nn.Module
    discriminator: nn.Module
    config: GANConfig
    history: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    snapshots: list[tuple[int, dict[str, torch.Tensor]]] = field(default_factory=list)


def costs(
    real_score: torch.Tensor, fake_score: torch.Tensor, loss: str = "hinge"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the discriminator's cost of each real and each generated image."""
    if loss == "hinge":
        return F.relu(1.0 - real_score), F.relu(1.0 + fake_score)
    return F.softplus(-real_score), F.softplus(fake_score)  # cross-entropy


def adversarial_loss(
    real_score: torch.Tensor, fake_score: torch.Tensor, loss: str = "hinge"
) -> torch.Tensor:
    """Return the discriminator's loss: mean cost of real plus of fake images.

    With the hinge loss a real image scored above 1 costs nothing, and so does
    a generated image scored below -1.
    """
    real_cost, fake_cost = costs(real_score, fake_score, loss)
    return real_cost.mean() + fake_cost.mean()


def generator_loss(
    fake_score: torch.Tensor,
    fake_class: torch.Tensor,
    labels: torch.Tensor,
    config: GANConfig,
) -> torch.Tensor:
    """Return the generator's loss: be scored real, and read as the label."""
    if config.loss == "hinge":
        loss = -fake_score.mean()
    else:
        loss = F.softplus(-fake_score).mean()
    if config.aux_weight > 0:
        loss = loss + config.aux_weight * F.cross_entropy(fake_class, labels)
    return loss


def contest_record(
    d_loss: torch.Tensor, real_score: torch.Tensor, fake_score: torch.Tensor
) -> dict[str, float]:
    """Return what the history keeps of one discriminator update (scores as 0-1)."""
    real_score, fake_score = real_score.detach(), fake_score.detach()
    real_right = float((real_score > 0).float().mean()) if len(real_score) else 0.5
    fake_right = float((fake_score < 0).float().mean())
    d_real = float(torch.sigmoid(real_score).mean()) if len(real_score) else math.nan
    return {
        "d_loss": float(d_loss.detach()),
        "d_real": d_real,
        "d_fake": float(torch.sigmoid(fake_score).mean()),
        "d_accuracy": (real_right + fake_right) / 2,
    }


class DiscriminatorUpdate:
    """How the discriminator learns, one batch at a time: the plain recipe.

    The loop calls :meth:`start` once, then at every step :meth:`batch`,
    :meth:`step`, and :meth:`generator_view` around the generator's update,
    and :meth:`finish` at the end. The plain update walks through shuffled
    batches of the training data and takes an Adam step on the adversarial
    loss plus the auxiliary classifier's loss on the real images.
    Subclasses change any of these (the privacy chapter uses DP-SGD).
    """

    description = "training GAN"

    def start(
        self,
        discriminator: nn.Module,
        data: MnistData,
        config: GANConfig,
        rng: torch.Generator,
    ) -> None:
        """Prepare to train ``discriminator`` on ``data``; ``rng`` draws the batches."""
        self.discriminator, self.config, self.rng = discriminator, config, rng
        self.images, self.labels = data.images, data.labels
        self.optimizer = torch.optim.Adam(
            discriminator.parameters(),
            lr=config.lr_d,
            betas=(config.beta1, config.beta2),
        )
        self.order, self.cursor = torch.randperm(len(data), generator=rng), 0

    def batch(self) -> Batch:
        """Return real images, their labels, and the labels to generate."""
        size = self.config.batch_size
        if self.cursor + size > len(self.order):
            self.order = torch.randperm(len(self.order), generator=self.rng)
            self.cursor = 0
        idx = self.order[self.cursor : self.cursor + size]
        self.cursor += size
        return self.images[idx], self.labels[idx], self.labels[idx]

    def step(
        self,
        real: torch.Tensor,
        labels: torch.Tensor,
        fake: torch.Tensor,
        fake_labels: torch.Tensor,
    ) -> dict[str, float]:
        """Learn to score real images high, generated ones low; name real digits."""
        real_score, real_class = self.discriminator(real, labels)
        fake_score, _ = self.discriminator(fake, fake_labels)
        loss = adversarial_loss(real_score, fake_score, self.config.loss)
        weight = self.config.aux_weight
        if weight > 0:
            loss = loss + weight * F.cross_entropy(real_class, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return contest_record(loss, real_score, fake_score)

    @contextlib.contextmanager
    def generator_view(self) -> Iterator[nn.Module]:
        """Yield the discriminator for the generator's update; drop its gradients."""
        yield self.discriminator
        self.optimizer.zero_grad(set_to_none=True)

    def finish(self) -> None:
        """Clean up once when training ends, even by an error."""


def train_step(
    generator: nn.Module,
    opt_g: torch.optim.Optimizer,
    update: DiscriminatorUpdate,
    config: GANConfig,
    rng: torch.Generator,
) -> dict[str, float]:
    """Play one round: the discriminator learns once, then the generator."""
    real, labels, fake_labels = update.batch()
    z = torch.randn(len(fake_labels), config.latent_dim, generator=rng)
    fake = to_unit_range(generator(z, fake_labels))
    record = update.step(real, labels, fake.detach(), fake_labels)

    # The generator learns to be scored as real, and to be read as its label.
    with update.generator_view() as discriminator:
        fake_score, fake_class = discriminator(fake, fake_labels)
        g_loss = generator_loss(fake_score, fake_class, fake_labels, config)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    opt_g.step()
    return {**record, "g_loss": g_loss.item()}


def ema_decay_at(config: GANConfig, step: int) -> float:
    """Decay of the generator's moving average after ``step`` steps (with warm-up)."""
    return min(config.ema_decay, (1.0 + step) / (config.ema_warmup + step))


@torch.no_grad()
def _update_average(average: nn.Module, model: nn.Module, decay: float) -> None:
    for avg, new in zip(average.parameters(), model.parameters(), strict=True):
        avg.lerp_(new, 1.0 - decay)
    # BatchNorm statistics are not averaged: the latest ones match the latest
    # weights well enough, and copying keeps eval-mode sampling consistent.
    for avg, new in zip(average.buffers(), model.buffers(), strict=True):
        avg.copy_(new)


class _Record:
    """History, film frames and generator snapshots of one training run."""

    def __init__(
        self,
        config: GANConfig,
        seed: int,
        sampler: nn.Module,
        snapshot_steps: Sequence[int] | None,
    ) -> None:
        self.config, self.sampler = config, sampler
        self.plan = None if snapshot_steps is None else set(snapshot_steps)
        self.stride = 1  # without a plan: every film frame, thinned as the run grows
        self.history: dict[str, Any] = {"step": [], **{k: [] for k in HISTORY_KEYS}}
        self.history["film"] = []
        self.snapshots: list[tuple[int, dict[str, torch.Tensor]]] = []
        noise = torch.Generator().manual_seed(10_000 + seed)
        self.film_z = torch.randn(
            10 * FILM_PER_DIGIT, config.latent_dim, generator=noise
        )
        self.film_labels = torch.arange(10).repeat_interleave(FILM_PER_DIGIT)
        self.frame(0)
        if self.plan is None or 0 in self.plan:
            self.snapshot(0)

    def add(self, step: int, stats: dict[str, float]) -> None:
        self.history["step"].append(step)
        for key in HISTORY_KEYS:
            self.history[key].append(stats[key])
        on_film = step % self.config.film_every == 0
        if on_film:
            self.frame(step)
        if self.plan is not None:
            if step in self.plan:
                self.snapshot(step)
        elif on_film and (step // self.config.film_every) % self.stride == 0:
            self.snapshot(step)
            if len(self.snapshots) > 4 * SNAPSHOTS:  # a long run: keep every other
                self.stride *= 2
                every = self.stride * self.config.film_every
                self.snapshots = [s for s in self.snapshots if s[0] % every == 0]

    def frame(self, step: int) -> None:
        """Record a frame of the film: the generator's digits for the fixed noise."""
        self.sampler.eval()
        with torch.no_grad():
            images = to_unit_range(self.sampler(self.film_z, self.film_labels))
        self.sampler.train()
        film = {"step": step, "per_row": FILM_PER_DIGIT, "images": images.numpy()}
        self.history["film"].append(film)

    def snapshot(self, step: int) -> None:
        """Keep a copy of the generator's weights at ``step``."""
        state = self.sampler.state_dict()
        self.snapshots.append((step, {k: v.detach().clone() for k, v in state.items()}))

    def finish(self, step: int) -> None:
        """Record the last step; without a plan keep :data:`SNAPSHOTS` spread out."""
        if self.history["film"][-1]["step"] != step:
            self.frame(step)
        if not self.snapshots or self.snapshots[-1][0] != step:
            self.snapshot(step)
        if self.plan is None and len(self.snapshots) > SNAPSHOTS:
            picks = np.linspace(0, len(self.snapshots) - 1, SNAPSHOTS).round()
            self.snapshots = [self.snapshots[int(i)] for i in np.unique(picks)]


def _check_budget(seconds: Any, steps: Any) -> tuple[float | None, int | None]:
    if seconds is None and steps is None:
        raise ValueError(
            "give a budget: seconds=..., steps=..., or both "
            f"(the book uses steps=gan.BOOK_STEPS={BOOK_STEPS})"
        )
    if seconds is not None:
        seconds = check_number("seconds", seconds, minimum=0.0, inclusive=(False, True))
    if steps is not None:
        steps = check_count("steps", steps, minimum=1)
    return seconds, steps


def _check_finite_losses(stats: dict[str, float], step: int) -> None:
    for key, who in (("d_loss", "discriminator"), ("g_loss", "generator")):
        if not math.isfinite(stats[key]):
            raise FloatingPointError(
                f"training diverged at step {step:,}: the {who}'s loss ({key}) became "
                f"{stats[key]}; nothing was saved. Lower the learning rates "
                "(lr_d, lr_g in GANConfig) or check the training images"
            )


def _snapshot_plan(steps: int | None) -> list[int] | None:
    if steps is None:
        return None
    return sorted({int(s) for s in np.linspace(0, steps, SNAPSHOTS).round()})


def train_gan(
    data: MnistData,
    config: GANConfig | None = None,
    *,
    seconds: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
    d_update: DiscriminatorUpdate | None = None,
    snapshot_steps: Sequence[int] | None = None,
    build: Builder = build_models,
) -> TrainResult:
    """Train a conditional GAN until a time or step budget runs out.

    Parameters
    ----------
    data : MnistData
        Real training images (in ``[0, 1]``, finite) and labels.
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
    d_update : DiscriminatorUpdate, optional
        How the discriminator learns; default the plain update.
    snapshot_steps : sequence of int, optional
        Keep a snapshot of the generator at these steps; default step 0 and
        :data:`SNAPSHOTS` - 1 more spread over the run, the last included.
    build : callable, default :func:`build_models`
        ``build(config) -> (generator, discriminator)``: other networks with
        the same interface (the benchmark's baselines).

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        If no budget is given, a budget is not a positive finite number, the
        time budget ran out before the first step, the images are not finite,
        or there are fewer images than one batch.
    FloatingPointError
        If a loss becomes NaN or infinite (the message names the step).
    """
    config = GANConfig() if config is None else config
    seconds, steps = _check_budget(seconds, steps)
    seed = check_seed("seed", seed)
    check_finite("data.images", data.images)
    if len(data) < config.batch_size:
        raise ValueError(
            f"need at least batch_size={config.batch_size} images, got "
            f"{len(data)}; use more data or a smaller batch_size"
        )
    torch.manual_seed(seed)
    generator, discriminator = build(config)
    average = copy.deepcopy(generator) if config.ema_decay > 0 else None
    sampler = average if average is not None else generator
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), config.lr_g, betas=betas)
    rng = torch.Generator().manual_seed(seed)
    update = DiscriminatorUpdate() if d_update is None else d_update
    plan = _snapshot_plan(steps) if snapshot_steps is None else snapshot_steps
    record = _Record(config, seed, sampler, plan)
    step, started = 0, time.perf_counter()
    bar = tqdm(total=steps, disable=hide_progress(progress), desc=update.description)
    update.start(discriminator, data, config, rng)
    try:
        while (steps is None or step < steps) and (
            seconds is None or time.perf_counter() - started < seconds
        ):
            stats = train_step(generator, opt_g, update, config, rng)
            step += 1
            _check_finite_losses(stats, step)
            if average is not None:
                _update_average(average, generator, ema_decay_at(config, step))
            record.add(step, stats)
            bar.update(1)
    finally:
        update.finish()
        bar.close()
    elapsed = time.perf_counter() - started
    if step == 0:
        raise ValueError(
            f"seconds={seconds:g} ran out before the first training step; "
            "give a longer time budget or a step budget (steps=...)"
        )
    record.finish(step)
    sampler.eval()
    discriminator.eval()
    history, snapshots = record.history, record.snapshots
    return TrainResult(
        sampler, discriminator, config, history, step, elapsed, snapshots
    )
