"""``bench tails``: what the variability chapter's experiment costs, old and new.

Measured in one process, on one seed (the experiment's first):

- **old**: the experiment as it was before batching: a GAN of
  ``OLD_GAN_STEPS`` steps, then every condition made on its own and its CNN
  classifier trained on its own, one after another;
- **new**: :func:`synthbook.chapters.variability.run_one_seed` (every
  strategy's images made once, the classifiers of all conditions trained
  together as one batched MLP);
- **new, one at a time**: the new classifiers trained one after another, to
  separate what batching saves from what the smaller classifier saves.

It also prints the rare digit's GAN-test (the judge's agreement) against
training steps for that seed's GAN, which is how ``TAIL_GAN_STEPS`` was
chosen, and then the experiment's paired gains (computed or from the cache).
"""

from __future__ import annotations

import copy
import resource
import time

import torch

from synthbook import gan, metrics
from synthbook.chapters import variability
from synthbook.data import book_splits, load_mnist
from synthbook.repro import setup

#: The experiment before this benchmark's change: its GAN, classifier and conditions.
OLD_GAN_STEPS = 3000
OLD_AMOUNTS = (48, 288)
OLD_STRATEGIES = ("oversample", "perturb", "gan", "gan-edge", "gan-interp")
#: Steps at which the GAN's rare digit is judged.
CHECKPOINTS = (500, 1000, 1500, 2000, 2500, 3000)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _old_one_seed(splits, judge, generator, seed: int) -> float:
    """Run the pre-batching experiment's classifiers for one seed; return seconds."""
    digit, keep = 8, 12
    tail = variability.make_long_tail(splits.train, digit, keep, seed=seed)
    kept = tail.images[tail.labels == digit]
    started = time.perf_counter()
    conditions = [("none", 0)] + [
        (s, a) for s in (*OLD_STRATEGIES, "perturb+gan") for a in OLD_AMOUNTS
    ]
    for strategy, amount in conditions:
        if strategy == "perturb+gan":  # then: half perturbed, half generated
            added = torch.cat(
                [
                    variability.synthesize(
                        "perturb", tail, digit, amount // 2, seed=seed
                    ),
                    variability.synthesize(
                        "gan",
                        tail,
                        digit,
                        amount - amount // 2,
                        seed=seed + 1,
                        generator=generator,
                    ),
                ]
            )
        else:
            added = variability.synthesize(
                strategy, tail, digit, amount, seed=seed, generator=generator
            )
        images = torch.cat([tail.images, added])
        labels = torch.cat([tail.labels, torch.full((len(added),), digit)])
        model = metrics.train_classifier(images, labels, epochs=8, seed=seed)
        model.predict(splits.test.images)
        if len(added):
            judge.predict(added)
            metrics.nearest_neighbour_distances(added, kept)
    return time.perf_counter() - started


def _new_one_at_a_time(splits, experiment, generator, seed: int) -> float:
    """Train the new conditions' classifiers one after another; return seconds."""
    digit = experiment.rare_digit
    tail = variability.make_long_tail(splits.train, digit, experiment.keep, seed=seed)
    reserve = variability.left_out(splits.train, digit, experiment.keep, seed)
    started = time.perf_counter()
    for strategy, amount in experiment.conditions(splits.train):
        parts = strategy.split("+") if strategy != "none" else []
        added = [
            reserve[: amount // len(parts)]
            if part == variability.REAL
            else variability.synthesize(
                part, tail, digit, amount // len(parts), seed=seed, generator=generator
            )
            for part in parts
        ]
        extra = torch.cat(added) if added else torch.empty(0, 28, 28)
        metrics.train_classifier(
            torch.cat([tail.images, extra]),
            torch.cat([tail.labels, torch.full((len(extra),), digit)]),
            arch=experiment.classifier_arch,
            width=experiment.classifier_width,
            epochs=experiment.classifier_epochs,
            seed=seed,
            batch_size=experiment.batch_size,
        )
    return time.perf_counter() - started


def _train_gan_with_snapshots(tail, steps: int, seed: int):
    started = time.perf_counter()
    result = gan.train_gan(
        tail,
        gan.GANConfig(),
        steps=steps,
        seed=seed,
        progress=False,
        snapshot_steps=[step for step in CHECKPOINTS if step <= steps],
    )
    return result, dict(result.snapshots), time.perf_counter() - started


def _quality_against_steps(result, snapshots, splits, judge, digit: int) -> None:
    real = splits.test.images[splits.test.labels == digit]
    real_features = metrics.judge_features(judge, real)
    generator = copy.deepcopy(result.generator)
    print(
        f"\nthe tail GAN's digit {digit} against training steps (seed "
        f"{variability.TailExperiment().seeds[0]}): GAN-test = share the judge "
        f"reads as {digit}; Frechet distance to the real test {digit}s in the "
        "judge's features (lower is closer)"
    )
    for step, state in sorted(snapshots.items()):
        generator.load_state_dict(state)
        generator.eval()
        made = gan.generate(generator, digit, 500, seed=1)
        agree = float((judge.predict(made) == digit).mean())
        distance = metrics.frechet_distance(
            real_features, metrics.judge_features(judge, made)
        )
        print(f"  {step:>5} steps: GAN-test {agree:.2f}, Frechet {distance:7.1f}")


def bench_tails(
    seconds: float | None = None, data_source: str | None = None
) -> list[dict]:
    """Print the old and new cost of one seed, their ratio, and the paired gains.

    ``seconds`` is not used (the experiment has a fixed size); it is accepted so
    that every benchmark takes the same command-line options.
    """
    session = setup(0)
    splits = book_splits(load_mnist(data_source, verbose=False), seed=0)
    judge = metrics.load_or_train_judge(splits.judge, seed=0)
    experiment = variability.TailExperiment()
    seed = experiment.seeds[0]
    print(experiment)
    tail = variability.make_long_tail(
        splits.train, experiment.rare_digit, experiment.keep, seed=seed
    )
    steps = max(OLD_GAN_STEPS, experiment.gan_steps)
    old_gan, snapshots, old_gan_s = _train_gan_with_snapshots(tail, steps, seed)
    new_gan, new_gan_s = old_gan, old_gan_s
    if experiment.gan_steps != OLD_GAN_STEPS:
        started = time.perf_counter()
        new_gan = gan.train_gan(
            tail, gan.GANConfig(), steps=experiment.gan_steps, seed=seed, progress=False
        )
        new_gan_s = time.perf_counter() - started
    _quality_against_steps(old_gan, snapshots, splits, judge, experiment.rare_digit)

    old_rest = _old_one_seed(splits, judge, old_gan.generator, seed)
    timings: dict[str, float] = {}
    variability.run_one_seed(
        experiment, splits, judge, seed, tail_gan=new_gan, timings=timings
    )
    new_rest = sum(timings.values())
    sequential = _new_one_at_a_time(splits, experiment, new_gan.generator, seed)
    old_total, new_total = old_gan_s + old_rest, new_gan_s + new_rest
    same = " (the same GAN: its steps did not change)" if new_gan is old_gan else ""
    print(f"\ncost of one seed ({session}; seconds, this process, this machine):")
    print(
        f"  old: GAN {old_gan_s:.1f} + 13 CNN classifiers one at a time "
        f"{old_rest:.1f} = {old_total:.1f}"
    )
    print(
        f"  new: GAN {new_gan_s:.1f}{same} + "
        + " + ".join(f"{k} {v:.1f}" for k, v in timings.items())
        + f" = {new_total:.1f}"
    )
    print(
        f"  new classifiers one at a time instead of batched: {sequential:.1f} "
        f"(batched: {timings['classifiers']:.1f})"
    )
    print(
        f"  ratio old / new: {old_total / new_total:.1f} (all of it); "
        f"{old_rest / new_rest:.1f} (without the GAN)"
    )
    print(f"  peak resident memory of this process: {_peak_mb():.0f} MB")

    started = time.perf_counter()
    rows = variability.run_tail_experiment(experiment, splits=splits)
    elapsed = time.perf_counter() - started
    conditions = experiment.conditions(splits.train)[1:]
    table = variability.gains(rows, conditions)
    print(
        f"\nrare-digit recall minus nothing added, paired over "
        f"{len(experiment.seeds)} seeds: mean [95% interval] verdict"
    )
    for test_set, part in table.groupby("test set", sort=False):
        print(f"  {test_set}:")
        for _, r in part.iterrows():
            label = f"{r['strategy']} +{r['amount']}"
            print(
                f"    {label:>18} {r['mean']:+.3f} [{r['low']:+.3f}, "
                f"{r['high']:+.3f}] {r['verdict']}"
            )
    print(f"\nthe whole experiment: {elapsed:.1f} s (cached seeds are read back)")
    return rows
