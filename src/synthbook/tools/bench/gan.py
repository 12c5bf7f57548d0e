"""``bench gan``: GAN quality against training steps, the book's recipe and others.

Every recipe trains in this process on the same 3,000 training digits, at the
same thread count, and is scored (:func:`synthbook.metrics.evaluate_generator`)
from snapshots of one run at each step mark. Side by side: the book's recipe
(``GANConfig()``), the recipe it replaced (:data:`PREVIOUS_RECIPE`, the book's
until it trained 4,000 steps), and two baselines with networks of their own,
which live here because only the benchmark uses them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from synthbook import gan, metrics
from synthbook.data import Splits, book_splits, load_mnist
from synthbook.repro import setup

#: The book's recipe before this benchmark halved its steps (4,000 steps).
PREVIOUS_RECIPE = gan.GANConfig(
    latent_dim=32,
    width=256,
    batch_size=64,
    lr_g=2e-4,
    lr_d=4e-4,
    beta1=0.5,
    beta2=0.999,
    loss="hinge",
    aux_weight=0.5,
    ema_decay=0.999,
    ema_warmup=10.0,
    d_dropout=0.0,
)
#: The recipe of the Keras conditional-GAN example (keras.io, "Conditional
#: GAN"): its convolutional networks (:class:`KerasGenerator`,
#: :class:`KerasDiscriminator`), one-hot labels concatenated to the noise and
#: to the image channels, cross-entropy, no auxiliary classifier, no weight
#: averaging, Adam at 3e-4 with Keras's default betas, 128-dimensional noise.
KERAS_CGAN_BASELINE = gan.GANConfig(
    latent_dim=128,
    loss="bce",
    aux_weight=0.0,
    ema_decay=0.0,
    lr_g=3e-4,
    lr_d=3e-4,
    beta1=0.9,
    beta2=0.999,
)
#: The book's networks with the label concatenated to the discriminator's input
#: (:class:`ConcatDiscriminator`, no projection), cross-entropy, no auxiliary
#: classifier and no averaging: isolates what the recipe adds.
PLAIN_MLP_BASELINE = gan.GANConfig(loss="bce", aux_weight=0.0, ema_decay=0.0)


class KerasGenerator(nn.Module):
    """[z, one-hot] -> Dense(7*7*c) -> two transposed convolutions -> 28x28 in [-1, 1]."""

    def __init__(self, config: gan.GANConfig) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        c = config.latent_dim + 10
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

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Generate ``(B, 1, 28, 28)`` images in ``[-1, 1]``."""
        weights = gan.as_label_weights(labels)
        return self.body(torch.cat([z, weights], dim=1)).view(-1, 1, 28, 28)


class KerasDiscriminator(nn.Module):
    """Image and ten label planes -> two strided convolutions -> global max pool."""

    def __init__(self, config: gan.GANConfig) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(11, 64, 3, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 3, 2, 1),
            nn.LeakyReLU(0.2),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.out = nn.Linear(128, 1)
        self.classify = nn.Linear(128, 10)  # unused (aux_weight=0), for the interface

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (real/fake logits, digit logits) for images in ``[0, 1]``."""
        x = images.reshape(-1, 1, 28, 28) * 2.0 - 1.0
        planes = gan.as_label_weights(labels).view(-1, 10, 1, 1).expand(-1, 10, 28, 28)
        h = self.features(torch.cat([x, planes], dim=1))
        return self.out(h).squeeze(1), self.classify(h)


class ConcatDiscriminator(nn.Module):
    """The book's discriminator MLP, conditioned by concatenating the one-hot label."""

    def __init__(self, config: gan.GANConfig) -> None:
        super().__init__()
        w = config.width
        self.features = nn.Sequential(
            nn.Linear(784 + 10, 2 * w),
            nn.LeakyReLU(0.2),
            nn.Linear(2 * w, w),
            nn.LeakyReLU(0.2),
        )
        self.out = nn.Linear(w, 1)
        self.classify = nn.Linear(w, 10)  # unused (aux_weight=0), for the interface

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (real/fake logits, digit logits) for images in ``[0, 1]``."""
        x = images.reshape(len(images), 784) * 2.0 - 1.0
        h = self.features(torch.cat([x, gan.as_label_weights(labels)], dim=1))
        return self.out(h).squeeze(1), self.classify(h)


def _keras_models(config: gan.GANConfig) -> tuple[nn.Module, nn.Module]:
    return KerasGenerator(config), KerasDiscriminator(config)


def _concat_models(config: gan.GANConfig) -> tuple[nn.Module, nn.Module]:
    return gan.Generator(config), ConcatDiscriminator(config)


#: name -> (recipe, networks, is a baseline)
RECIPES: dict[str, tuple[gan.GANConfig, Any, bool]] = {
    "book": (gan.GANConfig(), gan.build_models, False),
    "previous": (PREVIOUS_RECIPE, gan.build_models, False),
    "plain-mlp-cgan": (PLAIN_MLP_BASELINE, _concat_models, True),
    "keras-cgan": (KERAS_CGAN_BASELINE, _keras_models, True),
}
#: The quality the book's GAN must reach (GAN-test, GAN-train, Fréchet ratio).
TARGETS = {"gan_test": 0.95, "gan_train": 0.90, "fd_ratio": 10.0}


def meets_targets(row: dict[str, Any]) -> bool:
    """GAN-test >= 0.95, GAN-train >= 0.90 and Fréchet distance <= 10x real-vs-real."""
    return (
        row["gan_test"] >= TARGETS["gan_test"]
        and row["gan_train"] >= TARGETS["gan_train"]
        and row["fd_ratio"] <= TARGETS["fd_ratio"]
    )


def quality_by_steps(
    name: str,
    splits: Splits,
    judge: metrics.Classifier,
    marks: Sequence[int],
    seed: int,
) -> list[dict[str, Any]]:
    """Train recipe ``name`` once to ``max(marks)`` steps; score the snapshot at each mark."""
    config, build, _ = RECIPES[name]
    started = time.perf_counter()
    result = gan.train_gan(
        splits.train,
        config,
        steps=max(marks),
        seed=seed,
        progress=False,
        snapshot_steps=marks,
        build=build,
    )
    seconds = time.perf_counter() - started
    rows = []
    for step, state in result.snapshots:
        generator, _ = build(config)
        generator.load_state_dict(state)
        scores = metrics.evaluate_generator(generator.eval(), splits, judge, seed=0)
        fd_ratio = scores["frechet"] / scores["frechet_real_vs_real"]
        rows.append(
            {
                "recipe": name,
                "seed": seed,
                "steps": step,
                "ms_per_step": 1000 * seconds / result.steps,
                **scores,
                "fd_ratio": fd_ratio,
            }
        )
    return rows


def step_costs(
    names: Sequence[str], splits: Splits, steps: int = 100, rounds: int = 3
) -> dict[str, float]:
    """Median milliseconds per training step of each recipe, measured interleaved.

    The recipes take turns (``rounds`` times ``steps`` steps each), so that a
    change in the machine's load hits them all alike.
    """
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            config, build, _ = RECIPES[name]
            result = gan.train_gan(
                splits.train, config, steps=steps, progress=False, build=build
            )
            times[name].append(1000 * result.seconds / result.steps)
    return {name: statistics.median(values) for name, values in times.items()}


def _row_text(row: dict[str, Any]) -> str:
    verdict = "meets the targets" if meets_targets(row) else ""
    return (
        f"  {row['recipe']:>15} seed {row['seed']}  GAN-test {row['gan_test']:.3f}  "
        f"GAN-train {row['gan_train']:.3f}  FD x{row['fd_ratio']:5.1f} real-vs-real  "
        f"recall {row['recall']:.3f}  {verdict}"
    )


def bench_gan(
    steps: Sequence[int] = (500, 1000, 2000, 4000),
    seeds: Sequence[int] = (0,),
    recipes: Sequence[str] = ("book", "previous", "plain-mlp-cgan"),
    data_source: str | None = "embedded",
    seconds: float | None = None,
) -> dict[str, Any]:
    """Quality against steps for the book's recipe, the previous one and baselines.

    Parameters
    ----------
    steps : sequence of int
        Step marks at which every run is scored (each run trains to the last).
    seeds : sequence of int
        One run per recipe and seed (the judge and splits use seed 0).
    recipes : sequence of str
        Keys of :data:`RECIPES`. ``"keras-cgan"`` is left out by default: its
        convolutions cost 20 to 30 times as much per step on a CPU (see
        :func:`step_costs`), so 4,000 steps take half an hour.
    data_source : str, optional
        MNIST source; the book's default sample.
    seconds : None
        Not used: quality is measured against steps. Passing a number raises.

    Returns
    -------
    dict
        ``"rows"``: one dict of scores per recipe, seed and mark;
        ``"ms_per_step"``: median training time per step of each recipe.
    """
    if seconds is not None:
        raise ValueError(
            "bench gan measures quality against steps, not seconds: leave out "
            "--seconds (the marks are 500, 1,000, 2,000 and 4,000 steps)"
        )
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        raise ValueError(f"unknown recipes {unknown}: choose from {list(RECIPES)}")
    marks = sorted({int(s) for s in steps})
    session = setup(0)
    splits = book_splits(load_mnist(data_source), seed=0)
    judge = metrics.load_or_train_judge(splits.judge, seed=0)
    print(
        f"{session.threads} torch thread(s), {len(splits.train):,} training digits; "
        f"targets: GAN-test >= {TARGETS['gan_test']}, GAN-train >= "
        f"{TARGETS['gan_train']}, FD <= {TARGETS['fd_ratio']:g}x real-vs-real"
    )
    rows: list[dict[str, Any]] = []
    for name in recipes:
        print(f"{name}: {RECIPES[name][0]}", flush=True)
        for seed in seeds:
            rows += quality_by_steps(name, splits, judge, marks, seed)
    cost = step_costs(recipes, splits)
    for mark in marks:
        print(f"\nafter {mark:,} steps")
        for row in rows:
            if row["steps"] == mark:
                print(_row_text(row))
    print("\ntraining time per step (median of 3 interleaved runs of 100 steps):")
    for name, ms in cost.items():
        relative = (
            f" ({ms / cost['previous']:.2f}x previous)" if "previous" in cost else ""
        )
        print(f"  {name:>15}: {ms:.1f} ms{relative}")
    first = rows[0]
    print(
        f"\nreferences: a classifier trained on the real train split scores "
        f"{first['real_train_accuracy']:.3f} (the GAN-train ceiling); the judge "
        f"scores {first['judge_accuracy']:.3f} on real test digits; FD real-vs-real "
        f"{first['frechet_real_vs_real']:.2f}"
    )
    for name in recipes:
        reached = [
            min(
                (
                    r["steps"]
                    for r in rows
                    if r["recipe"] == name and r["seed"] == s and meets_targets(r)
                ),
                default=None,
            )
            for s in seeds
        ]
        text = ", ".join(
            f"seed {s}: {f'{m:,} steps' if m else 'not reached'}"
            for s, m in zip(seeds, reached, strict=True)
        )
        print(f"{name} first meets all three targets at ({text})")
    return {"rows": rows, "ms_per_step": cost}
