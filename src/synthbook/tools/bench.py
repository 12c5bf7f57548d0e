"""Benchmarks that print numbers: ``python -m synthbook bench NAME``.

Timings are only comparable within one run on one machine, so each benchmark
runs its baseline in the same process, with the same budget, and prints ratios.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from synthbook import gan, metrics, stats
from synthbook.data import Splits, book_splits, load_mnist
from synthbook.repro import setup

#: The recipe of the Keras conditional-GAN example (keras.io, "Conditional
#: GAN"), re-implemented in this harness: its convolutional networks, one-hot
#: labels concatenated to the generator's noise and to the discriminator's
#: input channels, binary cross-entropy, no auxiliary classifier, Adam at 3e-4
#: with Keras's default betas (0.9, 0.999), 128-dimensional noise, batch 64.
KERAS_CGAN_BASELINE = gan.GANConfig(
    arch="keras-cgan",
    latent_dim=128,
    loss="bce",
    projection=False,
    aux_weight=0.0,
    ema_decay=0.0,
    lr_g=3e-4,
    lr_d=3e-4,
    beta1=0.9,
    beta2=0.999,
)
#: The same networks as the book's recipe, conditioned the plain way (one-hot
#: label concatenated to the inputs), with cross-entropy, no auxiliary
#: classifier and no weight averaging: isolates what the recipe adds.
PLAIN_MLP_BASELINE = gan.GANConfig(
    loss="bce",
    projection=False,
    aux_weight=0.0,
    ema_decay=0.0,
)


def _train_with_snapshots(
    splits: Splits,
    config: gan.GANConfig,
    seconds: float,
    fractions: tuple[float, ...],
    seed: int,
) -> list[tuple[float, int, torch.nn.Module]]:
    """Train for ``seconds``; keep a copy of G when each fraction of the time has passed."""
    marks = sorted(f * seconds for f in fractions)
    snapshots: list[tuple[float, int, torch.nn.Module]] = []
    started = time.perf_counter()

    def keep(step: int, _history: dict[str, Any], generator: torch.nn.Module) -> None:
        elapsed = time.perf_counter() - started
        while marks and elapsed >= marks[0]:
            marks.pop(0)
            snapshots.append((elapsed, step, copy.deepcopy(generator).eval()))

    result = gan.train_gan(
        splits.train, config, seconds=seconds, seed=seed, progress=False, callback=keep
    )
    if marks:  # the last mark falls after the final step
        snapshots.append((result.seconds, result.steps, result.generator))
    return snapshots


def widget_latency(generator: torch.nn.Module, repeats: int = 40) -> float | None:
    """Median milliseconds for one redraw of the generator panel (render + encode).

    Returns None when :mod:`synthbook.widgets` (or its ``render``) is not there.
    """
    try:
        from synthbook.widgets import image_html, render
    except ImportError:
        return None
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        grid = render(
            generator,
            digit=i % 10,
            seed=i,
            noise_scale=1.0 + 0.05 * (i % 7),
            truncation=0.0 if i % 2 else 1.5,
            shifts=(0.1 * (i % 5), 0.0, -0.1),
        )
        image_html(grid, "benchmark redraw", scale=3)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _row_text(row: dict[str, Any]) -> str:
    return (
        f"  {row['seconds']:5.1f} s {row['steps']:6d} steps  GAN-test {row['gan_test']:.3f}  "
        f"GAN-train {row['gan_train']:.3f}  FD {row['frechet']:7.1f} "
        f"(x{row['fd_ratio']:.1f} real-vs-real)  precision {row['precision']:.3f}  "
        f"recall {row['recall']:.3f}"
    )


def bench_gan(
    seconds: float = 60.0, seed: int = 0, data_source: str | None = "embedded"
) -> dict[str, Any]:
    """Quality against wall time for the book's recipe and two baselines; print a table.

    Every recipe trains in this process for the same wall-clock budget, on the
    same 3,000 training digits and thread count; the scores are computed at a
    quarter, half and all of the budget (the baselines: half and all).
    """
    session = setup(seed)
    splits = book_splits(load_mnist(data_source), seed=seed)
    judge = metrics.load_or_train_judge(splits.judge, seed=seed)
    recipes = {
        "synthbook": (gan.GANConfig(), (0.25, 0.5, 1.0)),
        "plain-mlp-cgan": (PLAIN_MLP_BASELINE, (0.5, 1.0)),
        "keras-cgan": (KERAS_CGAN_BASELINE, (0.5, 1.0)),
    }
    print(
        f"budget {seconds:g} s per recipe, {session.threads} torch threads, "
        f"{len(splits.train):,} training digits"
    )
    rows: list[dict[str, Any]] = []
    finals: dict[str, dict[str, Any]] = {}
    final_generator = None
    for name, (config, fractions) in recipes.items():
        print(f"\n{name}: {asdict(config)}", flush=True)
        snapshots = _train_with_snapshots(splits, config, seconds, fractions, seed)
        for elapsed, steps, generator in snapshots:
            scores = metrics.evaluate_generator(generator, splits, judge, seed=seed)
            scores["fd_ratio"] = scores["frechet"] / scores["frechet_real_vs_real"]
            row = {"recipe": name, "seconds": elapsed, "steps": steps, **scores}
            rows.append(row)
            print(_row_text(row), flush=True)
        finals[name] = rows[-1]
        if name == "synthbook":
            final_generator = snapshots[-1][2]
    first = rows[0]
    print(
        f"\nreferences: the same classifier trained on the real train split scores "
        f"{first['real_train_accuracy']:.3f} on test (the GAN-train ceiling); the judge "
        f"scores {first['judge_accuracy']:.3f} on real test digits; FD real-vs-real "
        f"{first['frechet_real_vs_real']:.1f}"
    )
    ours = finals["synthbook"]
    print(
        f"synthbook at {seconds:g} s: {ours['steps']:,} steps "
        f"({ours['steps'] / ours['seconds']:.0f} steps/s); targets GAN-test >= 0.95: "
        f"{ours['gan_test'] >= 0.95}, GAN-train >= 0.90: {ours['gan_train'] >= 0.90}, "
        f"FD ratio <= 10: {ours['fd_ratio'] <= 10}"
    )

    def ratio(key: str, base: dict[str, Any], digits: int = 2) -> str:
        # A baseline that scores 0 has no finite ratio; say so rather than print 1e9.
        if base[key] <= 0:
            return f"n/a (baseline {key} is 0)"
        return f"{ours[key] / base[key]:.{digits}f}"

    for base_name in ("plain-mlp-cgan", "keras-cgan"):
        base = finals[base_name]
        print(
            f"ratios synthbook / {base_name} at {seconds:g} s: "
            f"GAN-test {ratio('gan_test', base)}, GAN-train {ratio('gan_train', base)}, "
            f"FD {ratio('frechet', base, 3)} (lower is better), "
            f"recall {ratio('recall', base)}, steps {ratio('steps', base, 1)}"
        )
    latency = widget_latency(final_generator)
    if latency is None:
        print("\nwidget latency: synthbook.widgets not available")
    else:
        print(
            f"\nwidget latency: median {latency:.1f} ms per redraw (render + PNG encode)"
        )
    started = time.perf_counter()
    book = gan.load_or_train(
        splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=seed, progress=False
    )
    cached = time.perf_counter() - started < 0.5 * book.seconds
    print(
        f"book model: {book.steps:,} steps (gan.BOOK_STEPS), trained in {book.seconds:.1f} s"
        f"{' (read from the cache)' if cached else ''}"
    )
    return {"rows": rows, "widget_ms": latency, "book_seconds": book.seconds}


def bench_tails(
    seconds: float | None = None, data_source: str | None = None
) -> list[dict]:
    """Run the tails experiment with the book's configuration; print its tables.

    ``seconds`` is not used (the experiment has a fixed size); it is accepted so
    that every benchmark takes the same command-line options.
    """
    from synthbook.chapters import variability

    setup(0)
    experiment = variability.TailExperiment()
    print(experiment)
    started = time.perf_counter()
    rows = variability.run_tail_experiment(experiment, data_source=data_source)
    elapsed = time.perf_counter() - started
    for metric in ("rare_recall", "accuracy"):
        print(f"\n{metric}: mean [95% interval] over {len(experiment.seeds)} seeds")
        for row in stats.summarise(rows, metric):
            print(
                f"  {row['strategy']:>12} +{row['amount']:<4d} {row['mean']:.3f} "
                f"[{row['low']:.3f}, {row['high']:.3f}]"
            )
    most = max(experiment.amounts)
    print(
        f"\nrare_recall minus 'none', paired by seed, +{most} images: mean [95% interval]"
    )
    for strategy in experiment.strategies:
        gain = stats.paired_difference(rows, (strategy, most))
        print(
            f"  {strategy:>12} {gain['mean']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}] "
            f"{gain['verdict']}"
        )
    print(f"\nwall time: {elapsed:.1f} s (cached seeds are read back, not recomputed)")
    return rows


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


BENCHMARKS: dict[str, Callable[..., Any]] = {
    "gan": bench_gan,
    "tails": bench_tails,
    "privacy": bench_privacy,
}


def run(name: str, **kwargs: Any) -> Any:
    """Run the benchmark ``name`` (see :data:`BENCHMARKS`)."""
    if name not in BENCHMARKS:
        raise ValueError(
            f"unknown benchmark {name!r}: choose from {', '.join(sorted(BENCHMARKS))}"
        )
    return BENCHMARKS[name](**kwargs)
