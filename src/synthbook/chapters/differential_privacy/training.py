"""Differentially private GAN training (DP-SGD on the discriminator, with Opacus).

Only the discriminator ever sees real images, so only its updates need to be
private: the generator learns from the discriminator's (noisy) judgements, and
anything computed from a differentially private model is as private as the
model (post-processing). Each discriminator step is DP-SGD (Abadi et al.
2016): a Poisson-sampled batch, every example's gradient clipped to norm
``max_grad_norm``, Gaussian noise added to the sum. Opacus (Yousefpour et al.
2021) provides the clipping, the noise and the privacy accountant; its "ghost
clipping" computes the per-example gradient norms without materialising
per-example gradients, which makes a step about 2x a plain one instead of 15x
on a CPU.

Generated digits are drawn for uniformly random labels, not for the labels of
the real batch: that way a real example influences exactly one row of the
discriminator's batch, and the clipping bound is its whole sensitivity.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.grad_sample import GradSampleModuleFastGradientClipping
from opacus.optimizers import DPOptimizerFastGradientClipping
from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

from synthbook import gan
from synthbook.cache import cache_dir, load_or_none, make_key, save_checked
from synthbook.data import MnistData
from synthbook.validate import check_seed
from synthbook.versions import code_version

DEFAULT_DELTA = 1e-5

# Opacus warns that (1) its backward hooks fire on inputs that need no gradient
# (our inputs are images), and (2) a larger RDP order might give a slightly
# tighter epsilon. Neither affects correctness: the epsilon reported is a valid
# upper bound.
_QUIET = (
    "Full backward hook is firing",
    "Optimal order is the largest alpha",
    "Secure RNG turned off",
)


@contextlib.contextmanager
def _quiet_opacus() -> Iterator[None]:
    with warnings.catch_warnings():
        for text in _QUIET:
            warnings.filterwarnings("ignore", message=f".*{text}.*")
        yield


@dataclass(frozen=True)
class DPSettings:
    """A privacy budget for DP-SGD.

    Attributes
    ----------
    epsilon : float
        Target epsilon: how much one person's data may change the probability
        of any outcome (a factor of at most ``exp(epsilon)``, except with
        probability ``delta``). Smaller is more private. Must be positive and
        finite; for no privacy, train with :func:`synthbook.gan.train_gan`.
    delta : float, default 1e-5
        The failure probability; should be well below one over the number of
        training images.
    max_grad_norm : float, default 1.0
        Each example's gradient is clipped to this norm before noise is added.
    """

    epsilon: float
    delta: float = DEFAULT_DELTA
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        if (
            not isinstance(self.epsilon, int | float)
            or not math.isfinite(self.epsilon)
            or self.epsilon <= 0
        ):
            raise ValueError(
                f"epsilon must be a positive, finite number, got {self.epsilon!r}; "
                "smaller means more private (1 is strong, 10 weak). For no privacy "
                "guarantee at all, train with synthbook.gan.train_gan instead"
            )
        if not 0 < self.delta < 1:
            raise ValueError(
                f"delta must be in (0, 1), got {self.delta!r}; use something "
                "well below 1 / (number of training images), e.g. 1e-5"
            )
        if not self.max_grad_norm > 0:
            raise ValueError(
                f"max_grad_norm must be positive, got {self.max_grad_norm!r}"
            )


def noise_multiplier_for(
    settings: DPSettings, *, sample_rate: float, steps: int
) -> float:
    """Noise multiplier sigma that spends ``settings.epsilon`` in ``steps`` steps.

    Opacus searches for the smallest sigma whose Rényi-DP accounting stays
    within the budget; the noise added to each summed gradient has standard
    deviation ``sigma * max_grad_norm``.

    Raises
    ------
    ValueError
        If ``sample_rate`` is not in (0, 1) or ``steps`` is not positive.
    """
    if not 0 < sample_rate < 1:
        raise ValueError(f"sample_rate must be in (0, 1), got {sample_rate}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    with _quiet_opacus():
        return float(
            get_noise_multiplier(
                target_epsilon=settings.epsilon,
                target_delta=settings.delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant="rdp",
            )
        )


@dataclass
class DPTrainResult:
    """A GAN trained with a differentially private discriminator.

    Attributes
    ----------
    gan : synthbook.gan.TrainResult
        The trained models and their history, as for a plain GAN (so the
        attacks and metrics of the other chapters apply unchanged).
    settings : DPSettings
        The budget asked for.
    epsilon : float
        The epsilon actually spent, from Opacus's RDP accountant (at most
        ``settings.epsilon``).
    noise_multiplier : float
        Sigma: noise standard deviation per unit of clipping norm.
    sample_rate : float
        Probability that a given training image is in a given batch.
    """

    gan: gan.TrainResult
    settings: DPSettings
    epsilon: float
    noise_multiplier: float
    sample_rate: float

    def __str__(self) -> str:
        return (
            f"epsilon {self.epsilon:.2f} (delta {self.settings.delta:g}; noise multiplier "
            f"{self.noise_multiplier:.2f}, clipping norm {self.settings.max_grad_norm:g}, "
            f"{self.gan.steps:,} steps at sampling rate {self.sample_rate:.4f})"
        )


def _check_data(data: MnistData, config: gan.GANConfig) -> float:
    n = len(data)
    if n == 0:
        raise ValueError("no training images: DP-SGD needs a non-empty training set")
    if n < 2 * config.batch_size:
        raise ValueError(
            "DP-SGD samples each image with probability batch_size / n, which must "
            f"be below 1/2: got {n} images for batch_size={config.batch_size}; use "
            f"at least {2 * config.batch_size} images or a smaller batch_size"
        )
    return config.batch_size / n


class DPSGDUpdate(gan.DiscriminatorUpdate):
    """The discriminator learns by DP-SGD: Poisson batches, clipped rows, noise.

    Plugged into :func:`synthbook.gan.train_gan`, which does the rest of the
    training exactly as for the plain GAN. Each real image enters a step's
    batch independently with probability ``sample_rate`` (what the accountant
    assumes); the generated digits are drawn for uniformly random labels, so
    that a real image influences exactly one row of the batch. Every row's
    gradient is clipped to ``settings.max_grad_norm`` (Opacus's ghost
    clipping) and Gaussian noise of standard deviation ``noise_multiplier *
    max_grad_norm`` is added to their sum.
    """

    description = "training DP-GAN"

    def __init__(
        self,
        settings: DPSettings,
        noise_multiplier: float,
        sample_rate: float,
        *,
        seed: int = 0,
    ) -> None:
        self.settings, self.sigma = settings, noise_multiplier
        self.sample_rate, self.seed = sample_rate, seed
        self.accountant = RDPAccountant()

    def start(
        self,
        discriminator: torch.nn.Module,
        data: MnistData,
        config: gan.GANConfig,
        rng: torch.Generator,
    ) -> None:
        """Wrap ``discriminator`` for per-example clipping; make the DP optimizer."""
        self.config, self.rng = config, rng
        self.images, self.labels = data.images, data.labels
        clip = self.settings.max_grad_norm
        with _quiet_opacus():
            self.private_d = GradSampleModuleFastGradientClipping(
                discriminator,
                loss_reduction="sum",
                max_grad_norm=clip,
                use_ghost_clipping=True,
            )
            self.optimizer = DPOptimizerFastGradientClipping(
                torch.optim.Adam(
                    self.private_d.parameters(),
                    lr=config.lr_d,
                    betas=(config.beta1, config.beta2),
                ),
                noise_multiplier=self.sigma,
                max_grad_norm=clip,
                expected_batch_size=config.batch_size,
                loss_reduction="sum",
                generator=torch.Generator().manual_seed(20_000 + self.seed),
            )

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw a Poisson-sampled real batch and ``batch_size`` random labels to generate."""
        chosen = torch.rand(len(self.labels), generator=self.rng) < self.sample_rate
        size = self.config.batch_size
        fake_labels = torch.randint(0, 10, (size,), generator=self.rng)
        return self.images[chosen], self.labels[chosen], fake_labels

    def step(
        self,
        real: torch.Tensor,
        labels: torch.Tensor,
        fake: torch.Tensor,
        fake_labels: torch.Tensor,
    ) -> dict[str, float]:
        """One DP-SGD step on real and generated rows; every row's gradient is clipped."""
        n_real = len(real)
        with _quiet_opacus():
            scores, logits = self.private_d(
                torch.cat([real, fake]), torch.cat([labels, fake_labels])
            )
            real_score, fake_score = scores[:n_real], scores[n_real:]
            real_cost, fake_cost = gan.costs(real_score, fake_score, self.config.loss)
            if self.config.aux_weight > 0:
                real_cost = real_cost + self.config.aux_weight * F.cross_entropy(
                    logits[:n_real], labels, reduction="none"
                )
            per_row = torch.cat([real_cost, fake_cost])
            self.optimizer.zero_grad(set_to_none=True)
            DPTensorFastGradientClipping(
                self.private_d, self.optimizer, per_row, loss_reduction="sum"
            ).backward()
            self.optimizer.step()
        self.accountant.step(noise_multiplier=self.sigma, sample_rate=self.sample_rate)
        return gan.contest_record(per_row.detach().mean(), real_score, fake_score)

    @contextlib.contextmanager
    def generator_view(self) -> Iterator[torch.nn.Module]:
        """Let the generator read the private discriminator, without per-example norms."""
        self.private_d.disable_hooks()
        try:
            with _quiet_opacus():
                yield self.private_d
        finally:
            self.private_d.enable_hooks()
            self.optimizer.zero_grad(set_to_none=True)  # drop what G's pass left on D

    def finish(self) -> None:
        """Remove Opacus's hooks, leaving a plain discriminator."""
        if hasattr(self, "private_d"):
            self.private_d.remove_hooks()

    def epsilon(self) -> float:
        """Return the epsilon spent so far (RDP accountant) at ``settings.delta``."""
        with _quiet_opacus():
            return float(self.accountant.get_epsilon(self.settings.delta))


def train_dp_gan(
    data: MnistData,
    settings: DPSettings,
    config: gan.GANConfig | None = None,
    *,
    steps: int,
    seed: int = 0,
    progress: bool = True,
) -> DPTrainResult:
    """Train the book's conditional GAN with a DP-SGD discriminator.

    The training loop is :func:`synthbook.gan.train_gan` with the
    discriminator update replaced by :class:`DPSGDUpdate`.

    Parameters
    ----------
    data : MnistData
        The private training images.
    settings : DPSettings
        The privacy budget, spent evenly over ``steps``.
    config : synthbook.gan.GANConfig, optional
        The recipe (default ``GANConfig()``); ``batch_size`` is the expected
        number of real images per step.
    steps : int
        Number of steps (one discriminator and one generator update each).
    seed : int, default 0
        Seeds the weights, the batches, the generator's noise and the DP noise.
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    DPTrainResult

    Raises
    ------
    ValueError
        If the data are too few for Poisson sampling, ``steps`` is not a
        positive whole number, or ``settings.delta`` is not below one over the
        number of images.
    """
    config = gan.GANConfig() if config is None else config
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    seed = check_seed("seed", seed)
    sample_rate = _check_data(data, config)
    if settings.delta >= 1 / len(data):
        raise ValueError(
            f"delta={settings.delta:g} is not below 1 / {len(data)} training "
            "images: such a guarantee allows publishing a whole record; use a "
            "smaller delta"
        )
    sigma = noise_multiplier_for(settings, sample_rate=sample_rate, steps=steps)
    update = DPSGDUpdate(settings, sigma, sample_rate, seed=seed)
    result = gan.train_gan(
        data, config, steps=steps, seed=seed, progress=progress, d_update=update
    )
    return DPTrainResult(result, settings, update.epsilon(), sigma, sample_rate)


def _training_code_version() -> str:
    # Only the code that shapes a trained model: editing the curve or its figure
    # must not throw away the cached models.
    dp_code = code_version(
        DPSettings, noise_multiplier_for, _check_data, DPSGDUpdate, train_dp_gan
    )
    return f"{gan.training_code_version()}-{dp_code}"


def _checkpoint_path(
    data: MnistData,
    settings: DPSettings,
    config: gan.GANConfig,
    *,
    steps: int,
    seed: int,
) -> Path:
    key = make_key(
        config=asdict(config),
        dp=asdict(settings),
        data=data.fingerprint(),
        steps=steps,
        seed=seed,
        threads=torch.get_num_threads(),
        code=_training_code_version(),
        format=gan.FORMAT_VERSION,
    )
    return cache_dir("dp-gan") / f"dp-gan-{key}.pt"


def load_or_train_dp_gan(
    data: MnistData,
    settings: DPSettings,
    config: gan.GANConfig | None = None,
    *,
    steps: int,
    seed: int = 0,
    progress: bool = True,
) -> DPTrainResult:
    """Return the cached DP-GAN for these inputs, training (and caching) it if needed.

    The cache key covers the budget, the recipe, the data's fingerprint, the
    steps, the seed, torch's thread count, and the version of the GAN's and
    this module's training code (not of its curve or figure). Files are
    written atomically with a checksum and read with ``weights_only=True``.
    """
    config = gan.GANConfig() if config is None else config
    path = _checkpoint_path(data, settings, config, steps=steps, seed=seed)
    state = load_or_none(path)
    if state is not None:
        try:
            return DPTrainResult(
                gan.result_from_state(state["gan"], source=str(path)),
                DPSettings(**state["settings"]),
                float(state["epsilon"]),
                float(state["noise_multiplier"]),
                float(state["sample_rate"]),
            )
        except (gan.CheckpointVersionError, KeyError, TypeError) as err:
            warnings.warn(f"retraining an outdated cache entry: {err}", stacklevel=2)
    result = train_dp_gan(
        data, settings, config, steps=steps, seed=seed, progress=progress
    )
    save_checked(
        path,
        {
            "gan": gan.result_to_state(result.gan),
            "settings": asdict(result.settings),
            "epsilon": result.epsilon,
            "noise_multiplier": result.noise_multiplier,
            "sample_rate": result.sample_rate,
        },
    )
    return result
