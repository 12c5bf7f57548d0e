"""A tiny conditional GAN that trains on a laptop CPU in well under a minute.

The recipe, and why (each choice measured, see ``python -m synthbook bench gan``):

- **MLP generator and discriminator** (about 0.5M parameters each): on a CPU a
  small MLP does many more updates per second than a convolutional network.
- **Projection discriminator** (Miyato & Koyama 2018): the label enters the
  discriminator as an inner product with its features, a much stronger
  conditioning signal than concatenating a one-hot vector.
- **Auxiliary classifier** (Odena et al. 2017): the discriminator also
  predicts the digit of real images, and the generator is rewarded when its
  digits are read as the digit asked for.
- **Hinge loss** with Adam, the discriminator learning faster than the
  generator (two time-scales, Heusel et al. 2017).
- **Exponential moving average of the generator's weights** (Yazici et al.
  2019): the generator we sample from is the running average of the one being
  trained.

The package: :mod:`~synthbook.gan.models` (recipe and networks),
:mod:`~synthbook.gan.train` (losses, the step, the one training loop),
:mod:`~synthbook.gan.checkpoint` (saving, loading, the cache) and
:mod:`~synthbook.gan.sample` (drawing digits). Everything public is
re-exported here: ``from synthbook import gan; gan.load_or_train(...)``.
"""

from synthbook.gan.checkpoint import (
    FORMAT_VERSION,
    CheckpointVersionError,
    checkpoint_path,
    generator_from_snapshot,
    load_checkpoint,
    load_or_train,
    result_from_state,
    result_to_state,
    save_checkpoint,
    training_code_version,
)
from synthbook.gan.models import (
    LOSSES,
    Discriminator,
    GANConfig,
    Generator,
    as_label_weights,
    build_models,
    to_unit_range,
)
from synthbook.gan.sample import class_labels, generate, interpolate, sample_latents
from synthbook.gan.train import (
    BOOK_STEPS,
    FILM_PER_DIGIT,
    HISTORY_KEYS,
    SNAPSHOTS,
    DiscriminatorUpdate,
    TrainResult,
    adversarial_loss,
    contest_record,
    costs,
    ema_decay_at,
    generator_loss,
    train_gan,
    train_step,
)

__all__ = [
    "BOOK_STEPS",
    "FILM_PER_DIGIT",
    "FORMAT_VERSION",
    "HISTORY_KEYS",
    "LOSSES",
    "SNAPSHOTS",
    "CheckpointVersionError",
    "Discriminator",
    "DiscriminatorUpdate",
    "GANConfig",
    "Generator",
    "TrainResult",
    "adversarial_loss",
    "as_label_weights",
    "build_models",
    "checkpoint_path",
    "class_labels",
    "contest_record",
    "costs",
    "ema_decay_at",
    "generate",
    "generator_from_snapshot",
    "generator_loss",
    "interpolate",
    "load_checkpoint",
    "load_or_train",
    "result_from_state",
    "result_to_state",
    "sample_latents",
    "save_checkpoint",
    "to_unit_range",
    "train_gan",
    "train_step",
    "training_code_version",
]
