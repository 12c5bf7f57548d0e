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
import copy
import hashlib
import inspect
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.grad_sample import GradSampleModuleFastGradientClipping
from opacus.optimizers import DPOptimizerFastGradientClipping
from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping
from tqdm.auto import tqdm

from synthbook import gan, metrics, tails
from synthbook.cache import cache_dir, load_or_none, make_key, save_checked
from synthbook.data import MnistData, Splits, balanced_subset
from synthbook.membership import AttackAUC, membership_aucs
from synthbook.plotting import OKABE_ITO

__all__ = [
    "CURVE_EPSILONS",
    "CURVE_STEPS",
    "DEFAULT_DELTA",
    "CurvePoint",
    "DPSettings",
    "DPTrainResult",
    "RareCase",
    "auc_ceiling",
    "budget_table",
    "curve_point",
    "curve_tables",
    "evaluate_point",
    "load_or_train_dp_gan",
    "noise_multiplier_for",
    "per_digit_table",
    "plot_privacy_fidelity",
    "privacy_fidelity_curve",
    "rare_digit_case",
    "train_dp_gan",
]

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
            f"DP-SGD samples each image with probability batch_size / n, which must be below "
            f"1/2: got {n} images for batch_size={config.batch_size}; use at least "
            f"{2 * config.batch_size} images or a smaller batch_size"
        )
    return config.batch_size / n


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

    Parameters
    ----------
    data : MnistData
        The private training images.
    settings : DPSettings
        The privacy budget, spent evenly over ``steps``.
    config : synthbook.gan.GANConfig, optional
        The recipe (default ``GANConfig()``); ``batch_size`` is the expected
        number of real images per step. Dropout and the projection
        discriminator work; the MLP architecture is the one tested.
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
        If the data are too few for Poisson sampling, ``steps`` is not positive,
        or ``settings.delta`` is not below one over the number of images.
    """
    config = config or gan.GANConfig()
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    sample_rate = _check_data(data, config)
    if settings.delta >= 1 / len(data):
        raise ValueError(
            f"delta={settings.delta:g} is not below 1 / {len(data)} training "
            "images: such a guarantee allows publishing a whole record; use a "
            "smaller delta"
        )
    sigma = noise_multiplier_for(settings, sample_rate=sample_rate, steps=steps)

    torch.manual_seed(seed)
    generator, discriminator = gan.build_models(config)
    average = copy.deepcopy(generator) if config.ema_decay > 0 else None
    sampler = average if average is not None else generator
    betas = (config.beta1, config.beta2)
    with _quiet_opacus():
        private_d = GradSampleModuleFastGradientClipping(
            discriminator,
            loss_reduction="sum",
            max_grad_norm=settings.max_grad_norm,
            use_ghost_clipping=True,
        )
        opt_d = DPOptimizerFastGradientClipping(
            torch.optim.Adam(private_d.parameters(), lr=config.lr_d, betas=betas),
            noise_multiplier=sigma,
            max_grad_norm=settings.max_grad_norm,
            expected_batch_size=config.batch_size,
            loss_reduction="sum",
            generator=torch.Generator().manual_seed(20_000 + seed),
        )
        opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_g, betas=betas)
        accountant = RDPAccountant()
        rng = torch.Generator().manual_seed(seed)
        real_all = data.images.view(-1, 1, 28, 28) * 2.0 - 1.0
        labels_all = data.labels
        history: dict[str, Any] = {
            "step": [],
            **{k: [] for k in gan.HISTORY_KEYS},
            "film": [],
        }
        bar = tqdm(
            total=steps, disable=not progress, desc="training DP-GAN", unit="step"
        )
        started = time.perf_counter()
        for step in range(1, steps + 1):
            stats = _dp_step(
                generator,
                private_d,
                opt_g,
                opt_d,
                real_all,
                labels_all,
                sample_rate,
                config,
                rng,
            )
            accountant.step(noise_multiplier=sigma, sample_rate=sample_rate)
            if average is not None:
                gan._update_average(
                    average, generator, min(config.ema_decay, (1 + step) / (10 + step))
                )
            history["step"].append(step)
            for key in gan.HISTORY_KEYS:
                history[key].append(stats[key])
            bar.update(1)
        bar.close()
        elapsed = time.perf_counter() - started
        spent = float(accountant.get_epsilon(settings.delta))
        private_d.remove_hooks()
    sampler.eval()
    discriminator.eval()
    result = gan.TrainResult(sampler, discriminator, config, history, steps, elapsed)
    return DPTrainResult(result, settings, spent, sigma, sample_rate)


def _dp_step(
    generator: gan.Generator,
    private_d: GradSampleModuleFastGradientClipping,
    opt_g: torch.optim.Optimizer,
    opt_d: DPOptimizerFastGradientClipping,
    real_all: torch.Tensor,
    labels_all: torch.Tensor,
    sample_rate: float,
    config: gan.GANConfig,
    rng: torch.Generator,
) -> dict[str, float]:
    # Poisson sampling (each image independently), which the accountant assumes.
    chosen = torch.rand(len(real_all), generator=rng) < sample_rate
    real, labels = real_all[chosen], labels_all[chosen]
    n_real = len(real)
    fake_labels = torch.randint(0, 10, (config.batch_size,), generator=rng)
    z = torch.randn(config.batch_size, config.latent_dim, generator=rng)
    fake = generator(z, fake_labels)

    # One batch of real and generated rows; every row's gradient is clipped.
    scores, logits = private_d(
        torch.cat([real, fake.detach()]), torch.cat([labels, fake_labels])
    )
    real_score, fake_score = scores[:n_real], scores[n_real:]
    if config.loss == "hinge":
        real_loss, fake_loss = F.relu(1.0 - real_score), F.relu(1.0 + fake_score)
    else:
        real_loss = F.binary_cross_entropy_with_logits(
            real_score, torch.ones_like(real_score), reduction="none"
        )
        fake_loss = F.binary_cross_entropy_with_logits(
            fake_score, torch.zeros_like(fake_score), reduction="none"
        )
    if config.aux_weight > 0:
        real_loss = real_loss + config.aux_weight * F.cross_entropy(
            logits[:n_real], labels, reduction="none"
        )
    opt_d.zero_grad(set_to_none=True)
    DPTensorFastGradientClipping(
        private_d, opt_d, torch.cat([real_loss, fake_loss]), loss_reduction="sum"
    ).backward()
    opt_d.step()

    # The generator's update reads the (private) discriminator: no per-example norms needed.
    private_d.disable_hooks()
    fake_score_g, fake_class = private_d(fake, fake_labels)
    if config.loss == "hinge":
        g_loss = -fake_score_g.mean()
    else:
        g_loss = F.binary_cross_entropy_with_logits(
            fake_score_g, torch.ones_like(fake_score_g)
        )
    if config.aux_weight > 0:
        g_loss = g_loss + config.aux_weight * F.cross_entropy(fake_class, fake_labels)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    private_d.enable_hooks()
    opt_g.step()
    opt_d.zero_grad(set_to_none=True)  # drop what the generator's pass left on D

    with torch.no_grad():
        correct = ((real_score > 0).float().mean() if n_real else torch.tensor(0.5)) + (
            fake_score < 0
        ).float().mean()
    d_loss = (real_loss.detach().sum() + fake_loss.detach().sum()) / max(
        1, n_real + len(fake_loss)
    )
    return {
        "g_loss": float(g_loss.detach()),
        "d_loss": float(d_loss),
        "d_real": float(torch.sigmoid(real_score.detach()).mean())
        if n_real
        else float("nan"),
        "d_fake": float(torch.sigmoid(fake_score.detach()).mean()),
        "d_accuracy": float(correct / 2),
    }


def _training_code_version() -> str:
    # Only the code that shapes a trained model: editing the curve or its figure
    # must not throw away the cached models.
    parts = [
        inspect.getsource(obj)
        for obj in (
            DPSettings,
            noise_multiplier_for,
            _check_data,
            train_dp_gan,
            _dp_step,
        )
    ]
    digest = hashlib.sha256("".join(parts).encode()).hexdigest()[:12]
    return f"{gan._CODE_VERSION}-{digest}"


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
    steps, the seed, torch's thread count, and the source of :mod:`synthbook.gan`
    and of this module's training code (not of its curve or figure). Files are
    written atomically with a checksum and read with ``weights_only=True``.
    """
    config = config or gan.GANConfig()
    path = _checkpoint_path(data, settings, config, steps=steps, seed=seed)
    state = load_or_none(path)
    if state is not None:
        return DPTrainResult(
            gan._state_to_result(state["gan"]),
            DPSettings(**state["settings"]),
            float(state["epsilon"]),
            float(state["noise_multiplier"]),
            float(state["sample_rate"]),
        )
    result = train_dp_gan(
        data, settings, config, steps=steps, seed=seed, progress=progress
    )
    save_checked(
        path,
        {
            "gan": gan._result_to_state(result.gan),
            "settings": asdict(result.settings),
            "epsilon": result.epsilon,
            "noise_multiplier": result.noise_multiplier,
            "sample_rate": result.sample_rate,
        },
    )
    return result


# --------------------------------------------------------------------------
# What a budget guarantees, and the privacy/fidelity curve
# --------------------------------------------------------------------------


def auc_ceiling(epsilon: float, delta: float = DEFAULT_DELTA) -> float:
    """Return the highest ROC AUC any membership attack can reach against (epsilon, delta)-DP.

    Differential privacy constrains every test of "was this record in the
    training set?": its true-positive rate is at most
    ``min(exp(eps) * FPR + delta, 1 - exp(-eps) * (1 - delta - FPR))`` at each
    false-positive rate (Kairouz et al. 2015). The AUC of that best possible
    ROC curve is the ceiling; 0.5 at ``epsilon = 0``.

    Raises
    ------
    ValueError
        If ``epsilon`` is negative or ``delta`` is not in [0, 1).
    """
    if not epsilon >= 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
    if not 0 <= delta < 1:
        raise ValueError(f"delta must be in [0, 1), got {delta!r}")
    if math.isinf(epsilon):
        return 1.0
    fpr = torch.linspace(0.0, 1.0, 20_001, dtype=torch.float64)
    tpr = torch.minimum(
        math.exp(epsilon) * fpr + delta, 1.0 - math.exp(-epsilon) * (1.0 - delta - fpr)
    ).clamp(0.0, 1.0)
    tpr = torch.maximum(
        tpr, fpr
    )  # an attack can always do at least as well as guessing
    return float(torch.trapezoid(tpr, fpr))


CURVE_EPSILONS: tuple[float, ...] = (1.0, 4.0, 16.0)
CURVE_STEPS = 1000
#: Real training images per common digit attacked as members.
COMMON_PER_CLASS = 100
#: Generated digits per class for the fidelity measures.
FIDELITY_PER_CLASS = 100
#: Generated digits the black-box attacker sees: per class (common digits), and of
#: the rare digit (as in the chapter *Too real*).
POOL_PER_CLASS = 300
RARE_POOL = 1000


@dataclass
class RareCase:
    """The long-tailed training set the curve is trained on, and whom to attack.

    Attributes
    ----------
    digit : int
        The rare digit (8, as in the chapter on variability).
    data : MnistData
        Every training image except most of the rare digit's.
    groups : dict of str to (MnistData, MnistData)
        ``"rare"``: the few real images of the rare digit in ``data`` (members)
        and every test image of it (non-members); ``"common"``: 100 training
        images of every other digit and every test image of the other digits.
    """

    digit: int
    data: MnistData
    groups: dict[str, tuple[MnistData, MnistData]]


def rare_digit_case(splits: Splits, *, seed: int = 0) -> RareCase:
    """Return the twelve-8s training set of *Variability* and its attack groups."""
    digit = tails.RARE_DIGIT
    data = tails.make_long_tail(splits.train, digit, tails.KEEP, seed=0)
    is_rare = splits.test.labels.numpy() == digit
    rare_in = data.subset(np.flatnonzero(data.labels.numpy() == digit))
    common = balanced_subset(splits.train, COMMON_PER_CLASS, seed=seed)
    common_in = common.subset(np.flatnonzero(common.labels.numpy() != digit))
    groups = {
        "rare": (rare_in, splits.test.subset(np.flatnonzero(is_rare))),
        "common": (common_in, splits.test.subset(np.flatnonzero(~is_rare))),
    }
    return RareCase(digit, data, groups)


@dataclass
class CurvePoint:
    """One GAN on the privacy/fidelity curve.

    Attributes
    ----------
    label : str
        ``"ε = 4"``, or ``"no DP"`` for the plain recipe.
    epsilon : float
        Privacy spent (``math.inf`` without DP).
    noise_multiplier : float
        Sigma of the discriminator's noise (0 without DP).
    gan_test : float
        Share of generated digits the judge reads as the digit asked for.
    per_class : numpy.ndarray
        The same, per digit (shape (10,)).
    readings : numpy.ndarray
        How often the judge reads each digit among all generated ones (shape
        (10,), sums to 1): one dominant reading means the generator collapsed
        onto one shape, whatever it was asked for.
    frechet_ratio : float
        Fréchet distance of generated to real training digits (judge features),
        divided by that of real held-out to real training digits.
    attacks : dict of str to dict of str to synthbook.membership.AttackAUC
        Group (``"rare"``, ``"common"``) -> attack (``"white-box"``,
        ``"black-box"``) -> its AUC.
    ceiling : float
        The AUC no attack can exceed at this epsilon (:func:`auc_ceiling`).
    seconds : float
        Training time, as recorded when the model was trained.
    gan : synthbook.gan.TrainResult
    """

    label: str
    epsilon: float
    noise_multiplier: float
    gan_test: float
    per_class: Any
    readings: Any
    frechet_ratio: float
    attacks: dict[str, dict[str, AttackAUC]]
    ceiling: float
    seconds: float
    gan: gan.TrainResult


def evaluate_point(
    label: str,
    result: gan.TrainResult,
    case: RareCase,
    splits: Splits,
    judge: metrics.Classifier,
    *,
    epsilon: float,
    noise_multiplier: float,
    seed: int = 0,
) -> CurvePoint:
    """Score one trained GAN for the curve: fidelity (judge) and the attacks."""
    labels = gan.class_labels(FIDELITY_PER_CLASS)
    images = gan.generate(result.generator, labels, seed=seed)
    read_as = judge.predict(images)
    hits = read_as == labels.numpy()
    reference = balanced_subset(splits.train, FIDELITY_PER_CLASS, seed=seed)
    other = balanced_subset(splits.test, FIDELITY_PER_CLASS, seed=seed)
    real = metrics.judge_features(judge, reference.images)
    ratio = metrics.frechet_distance(
        real, metrics.judge_features(judge, images)
    ) / metrics.frechet_distance(real, metrics.judge_features(judge, other.images))
    pools = {
        "rare": gan.generate(result.generator, case.digit, RARE_POOL, seed=seed + 3),
        "common": gan.generate(
            result.generator, gan.class_labels(POOL_PER_CLASS), seed=seed + 2
        ),
    }
    attacks = {
        group: membership_aucs(result, inside, outside, pools[group], seed=seed)
        for group, (inside, outside) in case.groups.items()
    }
    return CurvePoint(
        label,
        epsilon,
        noise_multiplier,
        float(hits.mean()),
        hits.reshape(10, -1).mean(axis=1),
        np.bincount(read_as, minlength=10) / len(read_as),
        float(ratio),
        attacks,
        auc_ceiling(epsilon),
        float(result.seconds),
        result,
    )


def curve_point(
    case: RareCase,
    splits: Splits,
    judge: metrics.Classifier,
    epsilon: float,
    *,
    steps: int = CURVE_STEPS,
    seed: int = 0,
    progress: bool = False,
) -> CurvePoint:
    """Train (or load) one GAN on ``case.data`` and score it.

    ``epsilon = math.inf`` trains the plain recipe (:func:`synthbook.gan.load_or_train`,
    so a model another chapter trained the same way comes from the cache); any
    finite epsilon trains a DP-SGD discriminator with that budget. Every model
    gets the same data, recipe, steps and seed.
    """
    if math.isinf(epsilon) and epsilon > 0:
        plain = gan.load_or_train(
            case.data, gan.GANConfig(), steps=steps, seed=seed, progress=progress
        )
        return evaluate_point(
            "no DP", plain, case, splits, judge, epsilon=math.inf, noise_multiplier=0.0
        )
    trained = load_or_train_dp_gan(
        case.data, DPSettings(epsilon), steps=steps, seed=seed, progress=progress
    )
    return evaluate_point(
        f"ε = {epsilon:g}",
        trained.gan,
        case,
        splits,
        judge,
        epsilon=trained.epsilon,
        noise_multiplier=trained.noise_multiplier,
        seed=seed,
    )


def privacy_fidelity_curve(
    case: RareCase,
    splits: Splits,
    judge: metrics.Classifier,
    *,
    epsilons: tuple[float, ...] = CURVE_EPSILONS,
    steps: int = CURVE_STEPS,
    seed: int = 0,
    progress: bool = False,
) -> list[CurvePoint]:
    """Every budget of ``epsilons`` (most private first), then the plain recipe."""
    if not epsilons:
        raise ValueError("give at least one epsilon")
    budgets = [*sorted(epsilons), math.inf]
    return [
        curve_point(case, splits, judge, eps, steps=steps, seed=seed, progress=progress)
        for eps in budgets
    ]


# --------------------------------------------------------------------------
# Tables and the figure
# --------------------------------------------------------------------------


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def budget_table(epsilons: tuple[float, ...], *, sample_rate: float, steps: int) -> str:
    """Markdown table: for each epsilon, the noise it needs and the AUC ceiling."""
    rows = [
        [
            f"{eps:g}",
            f"{noise_multiplier_for(DPSettings(eps), sample_rate=sample_rate, steps=steps):.2f}",
            f"{auc_ceiling(eps):.3f}",
        ]
        for eps in epsilons
    ]
    header = ["ε", "noise multiplier σ", "highest AUC any attack can reach"]
    return _markdown(header, rows)


def _auc(result: AttackAUC) -> str:
    mark = "" if result.leaks else " ·"
    return f"{result.auc:.2f} [{result.low:.2f}, {result.high:.2f}]{mark}"


def curve_tables(points: list[CurvePoint], digit: int) -> tuple[str, str]:
    """Two Markdown tables over the curve: fidelity, and the attacks.

    In the attack table a middle dot marks an attack that does not leak by the
    book's rule (its 95% interval includes 0.5).
    """
    fidelity = _markdown(
        ["model", "σ", "GAN-test", f"{digit}s recognised", "Fréchet ratio"],
        [
            [
                p.label,
                f"{p.noise_multiplier:.2f}",
                f"{p.gan_test:.2f}",
                f"{p.per_class[digit]:.2f}",
                f"{p.frechet_ratio:.1f}",
            ]
            for p in points
        ],
    )
    header = ["model", "ceiling"] + [
        f"{attack} ({group} digits)"
        for group in ("rare", "common")
        for attack in ("white-box", "black-box")
    ]
    rows = [
        [p.label, f"{p.ceiling:.3f}" if math.isfinite(p.epsilon) else "none"]
        + [
            _auc(p.attacks[group][attack])
            for group in ("rare", "common")
            for attack in ("white-box", "black-box")
        ]
        for p in points
    ]
    return fidelity, _markdown(header, rows)


def per_digit_table(points: list[CurvePoint], digit: int) -> str:
    """Markdown table: how often each requested digit is recognised, per model."""
    header = ["model"] + [f"{d} (rare)" if d == digit else str(d) for d in range(10)]
    rows = [[p.label] + [f"{v:.2f}" for v in p.per_class] for p in points]
    return _markdown(header, rows)


def plot_privacy_fidelity(points: list[CurvePoint]) -> Figure:
    """Two panels over the curve's models: fidelity, and attack AUCs under the ceiling.

    Left: GAN-test accuracy overall. Right: the white-box and black-box attacks
    on the rare digit's members (filled markers) and on the common digits'
    (open markers), with each private model's ceiling.
    """
    if not points:
        raise ValueError("no curve points to plot")
    x = np.arange(len(points))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 4.4))
    left.plot(x, [p.gan_test for p in points], "o-", color=OKABE_ITO[4])
    left.axhline(0.1, color="grey", linestyle=":", linewidth=1)
    left.text(x[0], 0.12, "chance (0.1)", color="grey", fontsize=8)
    left.set_ylim(0, 1.02)
    left.set_ylabel("judge reads the digit asked for")
    left.set_title("fidelity", fontsize=10)
    styles = {"white-box": (OKABE_ITO[5], -0.15), "black-box": (OKABE_ITO[1], 0.05)}
    for group, fill in (("rare", None), ("common", "none")):
        for attack, (colour, offset) in styles.items():
            res = [p.attacks[group][attack] for p in points]
            right.errorbar(
                x + offset + (0.1 if group == "common" else 0.0),
                [r.auc for r in res],
                yerr=[[r.auc - r.low for r in res], [r.high - r.auc for r in res]],
                fmt="o" if group == "rare" else "s",
                mfc=fill,
                capsize=3,
                color=colour,
                label=f"{attack}, {group} digits",
            )
    private = [i for i, p in enumerate(points) if np.isfinite(p.epsilon)]
    right.plot(
        x[private],
        [points[i].ceiling for i in private],
        "_",
        markersize=26,
        color="black",
        label="DP ceiling for any attack",
    )
    right.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    right.set_ylim(0.2, 1.05)
    right.set_ylabel("membership attack ROC AUC")
    right.set_title("privacy", fontsize=10)
    right.legend(
        frameon=False,
        fontsize=7,
        ncol=2,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
    )
    for ax in (left, right):
        ax.set_xticks(x)
        ax.set_xticklabels([p.label for p in points])
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
