"""DP-SGD GAN training: budgets, clipping, determinism, cache and bad inputs."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from synthbook import gan
from synthbook.chapters import differential_privacy
from synthbook.data import MnistData, book_splits, load_mnist

TINY = gan.GANConfig(width=16, latent_dim=8, batch_size=16, ema_decay=0.0)


@pytest.fixture(scope="module")
def small_data() -> MnistData:
    data = load_mnist("embedded", verbose=False)
    return book_splits(data).train.subset(np.arange(0, 3000, 10))  # 300 images


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": 0.0}, "epsilon must be a positive, finite number"),
        ({"epsilon": -1.0}, "epsilon must be a positive, finite number"),
        ({"epsilon": math.inf}, "train_gan instead"),
        ({"epsilon": math.nan}, "epsilon must be a positive"),
        ({"epsilon": 1.0, "delta": 0.0}, "delta must be in"),
        ({"epsilon": 1.0, "delta": 1.0}, "delta must be in"),
        ({"epsilon": 1.0, "max_grad_norm": 0.0}, "max_grad_norm must be positive"),
    ],
)
def test_bad_budgets_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        differential_privacy.DPSettings(**kwargs)


def test_bad_training_calls(small_data: MnistData) -> None:
    budget = differential_privacy.DPSettings(4.0)
    with pytest.raises(ValueError, match="non-empty"):
        differential_privacy.train_dp_gan(
            small_data.subset(np.arange(0)), budget, TINY, steps=5
        )
    with pytest.raises(ValueError, match="at least 32 images"):
        differential_privacy.train_dp_gan(
            small_data.subset(np.arange(20)), budget, TINY, steps=5
        )
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        differential_privacy.train_dp_gan(small_data, budget, TINY, steps=0)
    with pytest.raises(ValueError, match="not below 1 / 300"):
        differential_privacy.train_dp_gan(
            small_data, differential_privacy.DPSettings(4.0, delta=0.01), TINY, steps=5
        )
    with pytest.raises(ValueError, match="sample_rate"):
        differential_privacy.noise_multiplier_for(budget, sample_rate=1.0, steps=10)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        differential_privacy.train_dp_gan(small_data, budget, TINY, steps=math.inf)
    poisoned = MnistData(
        small_data.images.clone(), small_data.labels, small_data.source
    )
    poisoned.images[3, 10, 10] = math.inf  # edited after MnistData checked it
    with pytest.raises(ValueError, match="data.images holds 1 NaN or infinite"):
        differential_privacy.train_dp_gan(poisoned, budget, TINY, steps=5)


def test_less_epsilon_needs_more_noise() -> None:
    sigmas = [
        differential_privacy.noise_multiplier_for(
            differential_privacy.DPSettings(eps), sample_rate=0.02, steps=500
        )
        for eps in (1.0, 4.0, 16.0)
    ]
    assert sigmas[0] > sigmas[1] > sigmas[2] > 0
    more_steps = differential_privacy.noise_multiplier_for(
        differential_privacy.DPSettings(4.0), sample_rate=0.02, steps=2000
    )
    assert more_steps > sigmas[1]


def test_training_spends_the_budget_and_is_deterministic(small_data: MnistData) -> None:
    first = differential_privacy.train_dp_gan(
        small_data, differential_privacy.DPSettings(2.0), TINY, steps=20, progress=False
    )
    again = differential_privacy.train_dp_gan(
        small_data, differential_privacy.DPSettings(2.0), TINY, steps=20, progress=False
    )
    # The accountant's epsilon is at most the target, and the noise is calibrated
    # not to waste much of it.
    assert 1.8 < first.epsilon <= 2.0 + 1e-6
    assert first.sample_rate == pytest.approx(16 / 300)
    assert first.gan.steps == 20 and len(first.gan.history["d_loss"]) == 20
    for model in ("generator", "discriminator"):
        for a, b in zip(
            getattr(first.gan, model).state_dict().values(),
            getattr(again.gan, model).state_dict().values(),
            strict=True,
        ):
            assert torch.equal(a, b)
    images = gan.generate(first.gan.generator, torch.arange(10), seed=0)
    assert images.shape == (10, 28, 28) and torch.isfinite(images).all()
    assert "epsilon 2.00" in str(first) or "epsilon 1.9" in str(first)


def test_dp_training_uses_the_shared_loop(small_data: MnistData) -> None:
    # Film and snapshots come from gan.train_gan's loop, not a copy of it.
    trained = differential_privacy.train_dp_gan(
        small_data,
        differential_privacy.DPSettings(4.0),
        replace(TINY, film_every=10),
        steps=20,
        progress=False,
    )
    assert [f["step"] for f in trained.gan.history["film"]] == [0, 10, 20]
    assert [s for s, _ in trained.gan.snapshots] == [0, 5, 10, 15, 20]
    # Opacus's hooks are gone: the discriminator is a plain module again.
    disc = trained.gan.discriminator
    assert type(disc) is gan.Discriminator and not disc._forward_hooks
    score, _ = disc(small_data.images[:4], small_data.labels[:4])
    assert score.shape == (4,)


def _clipped_sum(data: MnistData, clip: float) -> torch.Tensor:
    """The discriminator's summed clipped gradient for one DP-SGD step, no noise."""
    torch.manual_seed(0)
    generator, discriminator = gan.build_models(TINY)
    update = differential_privacy.DPSGDUpdate(
        differential_privacy.DPSettings(1.0, max_grad_norm=clip),
        noise_multiplier=0.0,
        sample_rate=0.4,
    )
    rng = torch.Generator().manual_seed(0)
    update.start(discriminator, data, TINY, rng)
    real, labels, fake_labels = update.batch()
    z = torch.randn(len(fake_labels), TINY.latent_dim, generator=rng)
    fake = gan.to_unit_range(generator(z, fake_labels)).detach()
    update.step(real, labels, fake, fake_labels)
    # With no noise, the gradient the optimiser used is the sum of clipped rows.
    summed = torch.cat([p.grad.flatten() for p in discriminator.parameters()])
    update.finish()
    return summed


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_one_image_moves_the_discriminator_at_most_twice_the_clipping_norm(
    small_data: MnistData,
) -> None:
    # Neighbouring data sets: the same 40 images, except that one (in the batch) is
    # replaced. Poisson sampling picks the same rows of both (same seed), so the two
    # updates differ by the clipped gradients of the swapped image alone.
    chosen = (torch.rand(40, generator=torch.Generator().manual_seed(0)) < 0.4).numpy()
    swapped = int(np.flatnonzero(chosen)[0])  # an image that is in the batch
    data = small_data.subset(np.arange(40))
    other_rows = np.arange(40)
    other_rows[swapped] = 100
    other = small_data.subset(other_rows)
    clip = 0.05
    update = _clipped_sum(data, clip)
    neighbour = _clipped_sum(other, clip)
    assert update.norm() > 2 * clip  # clipping leaves a non-trivial update ...
    assert (
        0 < (update - neighbour).norm() <= 2 * clip + 1e-6
    )  # ... one image barely moves


def test_cache_returns_the_same_model(small_data: MnistData) -> None:
    budget = differential_privacy.DPSettings(8.0)
    trained = differential_privacy.load_or_train_dp_gan(
        small_data, budget, TINY, steps=10, progress=False
    )
    cached = differential_privacy.load_or_train_dp_gan(
        small_data, budget, TINY, steps=10, progress=False
    )
    assert cached.epsilon == trained.epsilon
    assert cached.settings == budget
    for a, b in zip(
        trained.gan.discriminator.state_dict().values(),
        cached.gan.discriminator.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)


@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0, 3.0])
def test_auc_ceiling_is_the_logistic_of_epsilon_without_delta(epsilon: float) -> None:
    # With delta = 0 the best ROC curve is two lines meeting at FPR = 1 / (1 + e^eps),
    # and the area under it works out to e^eps / (1 + e^eps).
    assert differential_privacy.auc_ceiling(epsilon, delta=0.0) == pytest.approx(
        1 / (1 + math.exp(-epsilon)), abs=1e-6
    )


def test_auc_ceiling_grows_with_epsilon_and_delta_and_refuses_nonsense() -> None:
    assert differential_privacy.auc_ceiling(
        1.0, 1e-5
    ) > differential_privacy.auc_ceiling(1.0, 0.0)
    assert differential_privacy.auc_ceiling(2.0) > differential_privacy.auc_ceiling(1.0)
    assert differential_privacy.auc_ceiling(math.inf) == 1.0
    with pytest.raises(ValueError, match="epsilon must be >= 0"):
        differential_privacy.auc_ceiling(-1.0)
    with pytest.raises(ValueError, match="delta must be in"):
        differential_privacy.auc_ceiling(1.0, delta=1.0)


def _point(
    label: str, eps: float, auc: float = 0.55
) -> differential_privacy.CurvePoint:
    from synthbook.membership import AttackAUC

    attack = AttackAUC(auc, auc - 0.05, auc + 0.05, 12, 100)
    return differential_privacy.CurvePoint(
        label=label,
        epsilon=eps,
        noise_multiplier=1.0 if math.isfinite(eps) else 0.0,
        gan_test=0.5,
        per_class=np.linspace(0, 0.9, 10),
        readings=np.full(10, 0.1),
        frechet_ratio=1.0,
        attacks={
            group: {"white-box": attack, "black-box": attack}
            for group in ("rare", "common")
        },
        ceiling=differential_privacy.auc_ceiling(eps),
        seconds=0.0,
        gan=None,
    )


def test_the_curve_plot_draws_a_ceiling_only_for_private_models() -> None:
    import matplotlib

    matplotlib.use("Agg")
    points = [_point("ε = 1", 1.0), _point("no DP", math.inf)]
    fig = differential_privacy.plot_privacy_fidelity(points)
    right = fig.axes[1]
    ceiling_line = next(
        line for line in right.lines if line.get_label() == "DP ceiling for any attack"
    )
    assert list(ceiling_line.get_xdata()) == [0]
    assert ceiling_line.get_ydata()[0] == pytest.approx(
        differential_privacy.auc_ceiling(1.0)
    )
    with pytest.raises(ValueError, match="no curve points"):
        differential_privacy.plot_privacy_fidelity([])


def test_tables_mark_attacks_that_do_not_leak() -> None:
    points = [_point("ε = 1", 1.0, auc=0.52), _point("no DP", math.inf, auc=0.8)]
    fidelity, attacks = differential_privacy.curve_tables(points, digit=8)
    private, plain = attacks.splitlines()[2:]
    assert private.count("·") == 4 and "0.731" in private
    assert "·" not in plain and "| none |" in plain
    assert "8s recognised" in fidelity.splitlines()[0]
    digits = differential_privacy.per_digit_table(points, digit=8)
    assert "8 (rare)" in digits and digits.count("\n") == 3


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_budget_table_spends_what_opacus_accounts() -> None:
    from opacus.accountants import PRVAccountant, RDPAccountant

    rate, steps = 64 / 2712, 1000
    table = differential_privacy.budget_table((1.0, 4.0), sample_rate=rate, steps=steps)
    for line, eps in zip(table.splitlines()[2:], (1.0, 4.0), strict=True):
        sigma = float(line.split("|")[2])  # rounded to two decimals
        spent = {}
        for name, accountant in (("rdp", RDPAccountant()), ("prv", PRVAccountant())):
            accountant.history = [(sigma, rate, steps)]
            spent[name] = accountant.get_epsilon(differential_privacy.DEFAULT_DELTA)
        # RDP is the accountant sigma was fitted with; PRV, a tighter one, finds
        # the same noise spends a little less, never more.
        assert spent["rdp"] == pytest.approx(eps, rel=0.03)
        assert 0.6 * eps < spent["prv"] <= spent["rdp"] * 1.001


def test_rare_case_attacks_members_against_images_the_gan_never_saw() -> None:
    splits = book_splits(load_mnist("embedded", verbose=False), seed=0)
    case = differential_privacy.rare_digit_case(splits)
    seen = {bytes(x.numpy()) for x in case.data.images}
    for inside, outside in case.groups.values():
        assert all(bytes(x.numpy()) in seen for x in inside.images)
        assert not any(bytes(x.numpy()) in seen for x in outside.images)
    rare_in, rare_out = case.groups["rare"]
    assert set(rare_in.labels.tolist()) == set(rare_out.labels.tolist()) == {case.digit}
    assert int((case.data.labels == case.digit).sum()) == len(rare_in)
    common_in, _ = case.groups["common"]
    assert case.digit not in common_in.labels.tolist()


def test_learned_little_splits_at_the_midpoint_of_chance_and_the_plain_model() -> None:
    plain = replace(_point("no DP", math.inf), gan_test=0.9)
    # The midpoint of chance (0.1) and 0.9 is 0.5.
    low = replace(_point("ε = 4", 4.0), gan_test=0.2)
    high = replace(_point("ε = 16", 16.0), gan_test=0.7)
    assert differential_privacy.learned_little(low, plain)
    assert not differential_privacy.learned_little(high, plain)
    assert not differential_privacy.learned_little(plain, plain)


def test_guessing_range_holds_95_percent_of_random_attacks() -> None:
    from sklearn.metrics import roc_auc_score

    low, high = differential_privacy.guessing_range(12, 100)
    assert low < 0.5 < high and high - 0.5 == pytest.approx(0.5 - low)
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(12), np.zeros(100)]
    aucs = np.array([roc_auc_score(labels, rng.random(112)) for _ in range(4000)])
    inside = np.mean((aucs >= low) & (aucs <= high))
    assert 0.93 < inside < 0.97
    # More members and non-members, a narrower range.
    assert differential_privacy.guessing_range(100, 1000)[1] < high
    with pytest.raises(ValueError, match="n_members"):
        differential_privacy.guessing_range(0, 100)
