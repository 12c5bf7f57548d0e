"""``bench privacy``: copying statistics, membership attacks and the DP curve."""

from __future__ import annotations

import time
from typing import Any

from synthbook import gan, metrics
from synthbook.chapters import differential_privacy, too_real
from synthbook.data import balanced_subset, book_splits, load_mnist
from synthbook.repro import setup


def bench_privacy(
    seconds: float | None = None, data_source: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """Print copying statistics, membership-attack AUCs and the DP privacy/fidelity curve.

    The same calls as the chapters *Too real* (the book's GAN, and the tails
    chapter's GAN that saw only twelve 8s) and *A defence with a price* (DP-SGD
    at three budgets and the plain recipe on the twelve-8s data), so the
    models come from the shared cache when the book has been built. With
    ``seed=0`` the numbers equal the chapters'. ``seconds`` is accepted for a
    uniform command line and not used.
    """
    started = time.perf_counter()
    setup(seed, verbose=False)
    splits = book_splits(load_mnist(data_source), seed=0)
    judge = metrics.load_or_train_judge(splits.judge, seed=0)
    trained = gan.load_or_train(
        splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=0, progress=False
    )
    generated = gan.generate(trained.generator, gan.class_labels(100), seed=seed + 1)
    train, test = splits.train.images, splits.test.images
    share = too_real.closer_to_train_share(generated, train, test, seed=seed)
    copying = too_real.data_copying_test(generated, train, test, seed=seed)
    print(f"book GAN ({len(splits.train):,} training images, {gan.BOOK_STEPS:,} steps)")
    print(f"  closer to training than to held-out (pixels): {share}")
    print(f"  data-copying statistic C_T (Meehan et al. 2020): {copying.c_t:.2f}")
    pool = gan.generate(
        trained.generator, gan.class_labels(too_real.POOL_PER_CLASS), seed=seed + 2
    )
    members = balanced_subset(splits.train, 100, seed=seed)
    attacks = too_real.membership_aucs(trained, members, splits.test, pool, seed=seed)
    for name, auc in attacks.items():
        print(f"  {name} membership attack: {auc}")

    case = too_real.twelve_eights(splits)
    rare = gan.generate(case.result.generator, case.digit, 1000, seed=seed + 3)
    tail_share = too_real.closer_to_train_share(
        rare, case.kept.images, case.held_out.images, seed=seed
    )
    tail_attacks = too_real.membership_aucs(
        case.result, case.kept, case.held_out, rare, seed=seed
    )
    print(
        f"\ntails GAN ({len(case.kept)} real {case.digit}s among {len(case.data):,} "
        f"images, {case.result.steps:,} steps)"
    )
    print(
        f"  closer to the {len(case.kept)} than to held-out {case.digit}s: {tail_share}"
    )
    for name, auc in tail_attacks.items():
        print(f"  {name} membership attack: {auc}")

    print(
        f"\nDP-SGD privacy/fidelity curve on the same long-tailed data "
        f"({differential_privacy.CURVE_STEPS:,} steps each, delta "
        f"{differential_privacy.DEFAULT_DELTA:g}; 'ceiling' is the highest AUC any "
        "attack can reach)"
    )
    rare_case = differential_privacy.rare_digit_case(splits, seed=seed)
    curve = differential_privacy.privacy_fidelity_curve(
        rare_case, splits, judge, seed=seed
    )
    fidelity, privacy = differential_privacy.curve_tables(curve, rare_case.digit)
    print(fidelity, privacy, sep="\n\n")
    print(f"wall time: {time.perf_counter() - started:.1f} s (models cached if there)")
    return {
        "share": share,
        "c_t": copying.c_t,
        "attacks": attacks,
        "tail_share": tail_share,
        "tail_attacks": tail_attacks,
        "curve": curve,
    }
