"""``bench privacy``: copying statistics, membership attacks and the DP curve."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from synthbook import gan, metrics
from synthbook.data import book_splits, load_mnist
from synthbook.repro import setup


def bench_privacy(
    seconds: float | None = None, data_source: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """Print copying statistics, membership-attack AUCs and the DP privacy/fidelity curve.

    The GANs come from the shared cache when the book has been built: the
    book's GAN (the whole training split) and the tails chapter's GAN that saw
    only twelve 8s, as in the chapter *Too real*; the curve of the chapter
    *A defence with a price* (DP-SGD at three budgets and the plain recipe,
    1,000 steps each). Not in any chapter: a DP-GAN (epsilon 4) trained on
    the twelve-8s data as long as the tails GAN (about 2 min the first time),
    attacked the same way. With ``seed=0`` the numbers equal the chapters'.
    ``seconds`` is accepted for a uniform command line and not used.
    """
    from synthbook.chapters import differential_privacy, too_real, variability
    from synthbook.data import balanced_subset

    started = time.perf_counter()
    setup(seed, verbose=False)
    splits = book_splits(load_mnist(data_source), seed=0)
    # The same calls as the chapters, so the GANs come from the shared cache.
    trained = gan.load_or_train(
        splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=0, progress=False
    )
    generated = gan.generate(
        trained.generator, torch.arange(10).repeat_interleave(100), seed=seed + 1
    )
    share = too_real.closer_to_train_share(
        generated, splits.train.images, splits.test.images, seed=seed
    )
    copying = too_real.data_copying_test(
        generated, splits.train.images, splits.test.images, seed=seed
    )
    print(f"book GAN ({len(splits.train):,} training images, {gan.BOOK_STEPS:,} steps)")
    print(f"  closer to training than to held-out (pixels): {share}")
    print(f"  data-copying statistic C_T (Meehan et al. 2020): {copying.c_t:.2f}")
    pool = gan.generate(
        trained.generator, torch.arange(10).repeat_interleave(300), seed=seed + 2
    )
    members = balanced_subset(splits.train, len(splits.test) // 10, seed=seed)
    attacks = too_real.membership_aucs(trained, members, splits.test, pool, seed=seed)
    for name, auc in attacks.items():
        print(f"  {name} membership attack: {auc}")

    experiment = variability.TailExperiment()
    digit = experiment.rare_digit
    tail = variability.make_long_tail(splits.train, digit, experiment.keep, seed=0)
    tail_gan = gan.load_or_train(
        tail, gan.GANConfig(), steps=experiment.gan_steps, seed=0, progress=False
    )
    kept = tail.subset(np.flatnonzero(tail.labels.numpy() == digit))
    held_out = splits.test.subset(np.flatnonzero(splits.test.labels.numpy() == digit))
    rare = gan.generate(tail_gan.generator, digit, 1000, seed=seed + 3)
    tail_share = too_real.closer_to_train_share(
        rare, kept.images, held_out.images, seed=seed
    )
    tail_attacks = too_real.membership_aucs(tail_gan, kept, held_out, rare, seed=seed)
    print(
        f"\ntails GAN ({experiment.keep} real {digit}s among {len(tail):,} images, "
        f"{experiment.gan_steps:,} steps)"
    )
    print(
        f"  closer to the {experiment.keep} than to as many held-out {digit}s: {tail_share}"
    )
    for name, auc in tail_attacks.items():
        print(f"  {name} membership attack: {auc}")

    print(
        f"\nDP-SGD privacy/fidelity curve ({differential_privacy.CURVE_STEPS:,} steps each, "
        f"delta {differential_privacy.DEFAULT_DELTA:g}; "
        "'ceiling' is the highest AUC any attack can reach)"
    )
    judge = metrics.load_or_train_judge(splits.judge)
    curve = differential_privacy.privacy_fidelity_curve(
        splits, judge, seed=seed, progress=False
    )
    for point in curve:
        white, black = point.attacks["white-box"], point.attacks["black-box"]
        print(
            f"  {point.label:>12}: spent epsilon {point.epsilon:5.2f}, noise "
            f"{point.noise_multiplier:.2f}; GAN-test {point.gan_test:.3f}, Fréchet ratio "
            f"{point.frechet_ratio:6.1f}; white-box {white.auc:.2f} [{white.low:.2f}, "
            f"{white.high:.2f}], black-box {black.auc:.2f} [{black.low:.2f}, "
            f"{black.high:.2f}], ceiling {point.ceiling:.3f}"
        )

    private_tail = differential_privacy.load_or_train_dp_gan(
        tail,
        differential_privacy.DPSettings(4.0),
        steps=experiment.gan_steps,
        seed=0,
        progress=False,
    )
    private_rare = gan.generate(private_tail.gan.generator, digit, 1000, seed=seed + 3)
    private_attacks = too_real.membership_aucs(
        private_tail.gan, kept, held_out, private_rare, seed=seed
    )
    recognised = float((judge.predict(private_rare) == digit).mean())
    plain_recognised = float((judge.predict(rare) == digit).mean())
    every_digit = torch.arange(10).repeat_interleave(100)
    read_as_rare = {
        name: float(
            (judge.predict(gan.generate(model, every_digit, seed=seed)) == digit).mean()
        )
        for name, model in (
            ("DP", private_tail.gan.generator),
            ("plain", tail_gan.generator),
        )
    }
    print(f"\ntails data again, DP-SGD discriminator: {private_tail}")
    print(
        f"  generated {digit}s the judge reads as {digit}: {recognised:.2f} "
        f"(without DP: {plain_recognised:.2f}); share of all its digits, whatever was "
        f"asked for, read as {digit}: {read_as_rare['DP']:.2f} (without DP: "
        f"{read_as_rare['plain']:.2f}; 0.10 if faithful)"
    )
    for name, auc in private_attacks.items():
        print(
            f"  {name} membership attack: {auc} (ceiling "
            f"{differential_privacy.auc_ceiling(private_tail.epsilon):.3f})"
        )
    print(
        f"wall time: {time.perf_counter() - started:.1f} s (GANs read from the cache if there)"
    )
    return {
        "share": share,
        "c_t": copying.c_t,
        "attacks": attacks,
        "tail_share": tail_share,
        "tail_attacks": tail_attacks,
        "curve": curve,
        "tail_dp": private_tail,
        "tail_dp_attacks": private_attacks,
        "tail_dp_recognised": recognised,
    }
