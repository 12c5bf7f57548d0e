"""The book's conditional GAN: its recipe (:class:`GANConfig`) and its two networks.

Both networks are small multi-layer perceptrons: on a CPU a small MLP does
many more updates per second than a convolutional network, and on MNIST,
within a minute, updates matter more than inductive bias.

Images enter the discriminator in ``[0, 1]``, like everywhere else in the
book; the generator's last layer is a ``tanh``, so it draws in ``[-1, 1]``
and :func:`to_unit_range` maps its output back.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from synthbook.validate import check_choice, check_count, check_number

LOSSES = ("hinge", "bce")


@dataclass(frozen=True)
class GANConfig:
    """Everything that defines a GAN recipe (and so a cache entry).

    Attributes
    ----------
    latent_dim : int
        Length of the noise vector z.
    width : int
        Width of the hidden layers (the generator's first layer). 128 reaches
        the same quality as 256 by 2,000 steps at half the cost per step
        (``bench gan``), and keeps the generator the browser runs small.
    batch_size : int
        Real images (and as many generated ones) per step.
    lr_g, lr_d : float
        Adam learning rates of generator and discriminator. The discriminator
        learns twice as fast (two time-scales, Heusel et al. 2017); both are
        four times the common 2e-4 and 4e-4, which with these small networks
        reaches the book's quality in half the steps (``bench gan``).
    beta1, beta2 : float
        Adam's moment coefficients.
    loss : {"hinge", "bce"}
        Adversarial loss: hinge, or the original non-saturating cross-entropy.
    aux_weight : float
        Weight of the auxiliary classification loss (0 turns it off).
    ema_decay : float
        Decay of the moving average of the generator's weights; 0 samples from
        the trained generator itself.
    ema_warmup : float
        At step ``t`` the average uses decay ``min(ema_decay, (1 + t) /
        (ema_warmup + t))``: it then averages about the last ``t / (ema_warmup -
        1)`` steps (the last 5% of training with the default 20), so it neither
        remembers the random initial weights nor lags far behind a generator
        that is still improving.
    d_dropout : float
        Dropout after each hidden layer of the discriminator.
    film_every : int
        Record a frame of the training film every this many steps.
    """

    latent_dim: int = 32
    width: int = 128
    batch_size: int = 64
    lr_g: float = 8e-4
    lr_d: float = 1.6e-3
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "hinge"
    aux_weight: float = 0.5
    ema_decay: float = 0.999
    ema_warmup: float = 20.0
    d_dropout: float = 0.0
    film_every: int = 500

    def __post_init__(self) -> None:
        check_choice("loss", self.loss, LOSSES)
        for name in ("latent_dim", "width", "batch_size", "film_every"):
            object.__setattr__(
                self, name, check_count(name, getattr(self, name), minimum=1)
            )
        for name in ("lr_g", "lr_d"):
            check_number(
                name, getattr(self, name), minimum=0.0, inclusive=(False, True)
            )
        for name in ("beta1", "beta2", "ema_decay", "d_dropout"):
            check_number(
                name,
                getattr(self, name),
                minimum=0.0,
                maximum=1.0,
                inclusive=(True, False),
            )
        check_number("aux_weight", self.aux_weight, minimum=0.0)
        check_number("ema_warmup", self.ema_warmup, minimum=1.0)
        for item in fields(self):
            if item.type == "float":
                object.__setattr__(self, item.name, float(getattr(self, item.name)))


def as_label_weights(labels: torch.Tensor) -> torch.Tensor:
    """Int labels ``(B,)`` become one-hot rows; a float ``(B, 10)`` matrix passes through.

    Raises
    ------
    ValueError
        If integer labels are not digits 0 to 9 in a 1-D tensor, or float
        label weights are not a ``(B, 10)`` matrix.
    """
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
            "float labels must be a (B, 10) matrix of label weights, got shape "
            f"{tuple(labels.shape)}; pass digits as an int64 tensor"
        )
    return labels.float()


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Map generator output ``(B, 1, 28, 28)`` in ``[-1, 1]`` to ``(B, 28, 28)`` in ``[0, 1]``."""
    return (images.view(-1, 28, 28) + 1.0) / 2.0


class Generator(nn.Module):
    """Map noise ``z`` and a label to a ``(B, 1, 28, 28)`` image in ``[-1, 1]``.

    The label may be an int64 vector of digits or a float ``(B, 10)`` matrix of
    label weights, so that labels can be blended (class interpolation): the
    label enters through a learned embedding, concatenated to the noise.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        w = config.width
        self.embed = nn.Linear(10, config.latent_dim, bias=False)
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

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Generate images for noise ``z`` and digits (or label weights)."""
        h = torch.cat([z, self.embed(as_label_weights(labels))], dim=1)
        return self.body(h).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    """Score images in ``[0, 1]`` as real or generated, given a label.

    Two heads share the features: a *projection* score (the label is compared
    with the image's features by an inner product, Miyato & Koyama 2018) and
    an *auxiliary classifier* that predicts the digit (Odena et al. 2017).
    ``forward`` returns ``(score, class_logits)``: the real/fake logit, shape
    ``(B,)``, and the digit logits, shape ``(B, 10)``.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__()
        w = config.width
        self.features = nn.Sequential(
            nn.Linear(784, 2 * w),
            nn.LeakyReLU(0.2),
            nn.Dropout(config.d_dropout),
            nn.Linear(2 * w, w),
            nn.LeakyReLU(0.2),
            nn.Dropout(config.d_dropout),
        )
        self.out = nn.Linear(w, 1)
        self.embed = nn.Linear(10, w, bias=False)
        self.classify = nn.Linear(w, 10)

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return real/fake logits ``(B,)`` and digit logits ``(B, 10)``."""
        x = images.reshape(len(images), 784) * 2.0 - 1.0  # [0, 1] -> [-1, 1]
        h = self.features(x)
        label_vector = self.embed(as_label_weights(labels))
        score = self.out(h).squeeze(1) + (label_vector * h).sum(dim=1)
        return score, self.classify(h)


def build_models(config: GANConfig) -> tuple[Generator, Discriminator]:
    """Return a freshly initialised generator and discriminator for ``config``."""
    return Generator(config), Discriminator(config)
