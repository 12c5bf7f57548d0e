"""The tails experiment: every way of filling a tail, over seeds, in one batched run.

For each seed the runner makes the long tail, trains (or reads) the GAN of that
tail, makes every strategy's images once (the smaller amount is the first part
of the larger), and then trains the classifiers of all conditions of the seed
together as one batched model (:func:`synthbook.metrics.train_classifiers`).
Each classifier is scored on the real test digits as collected and under two
shocks (:mod:`~synthbook.chapters.variability.shifts`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from sklearn.metrics import precision_recall_fscore_support
from tqdm.auto import tqdm

from synthbook import gan, metrics, tails
from synthbook.cache import cache_dir, load_or_none, make_key, save_checked
from synthbook.chapters.variability import shifts, strategies
from synthbook.chapters.variability.strategies import ADDING_STRATEGIES
from synthbook.data import MnistData, Splits, book_splits, load_mnist
from synthbook.metrics import classifiers
from synthbook.repro import hide_progress
from synthbook.tails import TAIL_GAN_STEPS, load_or_train_tail_gan
from synthbook.validate import check_choice, check_count, check_digit, check_seed
from synthbook.versions import code_version

#: Steps of each seed's GAN (see ``python -m synthbook bench tails``).
#: The reference condition: put back real images of the rare digit that the
#: tail left out, as if one had waited and collected them.
REAL = "real"
#: Added images kept per condition, to show in the panel.
EXAMPLES = 12


@dataclass(frozen=True)
class TailExperiment:
    """One configuration of the tails experiment.

    Attributes
    ----------
    rare_digit : int
        The digit made rare in the training split.
    keep : int
        Real images of the rare digit left in training.
    strategies : tuple of str
        Strategies compared with adding nothing (see
        :data:`~synthbook.chapters.variability.strategies.STRATEGIES`). A
        combination ``"a+b"`` adds n images of ``a`` and n of ``b`` on top;
        its quantity control, ``a`` with 2n images, is run with it.
    amounts : tuple of int, optional
        Images of the rare digit added by each single strategy. ``None``
        (default) takes them from the data: the *gap* (how many images of the
        rare digit the tail left out) and a sixth of it.
    seeds : tuple of int
        One full repetition per seed: which real images are kept, the GAN,
        the synthetic images and the classifiers all change with the seed.
    gan_steps : int
        Training steps of each seed's GAN.
    classifier_arch, classifier_width, classifier_epochs, batch_size
        The digit classifier trained on each augmented set
        (:func:`synthbook.metrics.train_classifier`).
    """

    rare_digit: int = 8
    keep: int = 12
    strategies: tuple[str, ...] = ADDING_STRATEGIES
    amounts: tuple[int, ...] | None = None
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    gan_steps: int = TAIL_GAN_STEPS
    classifier_arch: str = "mlp"
    classifier_width: int = 64
    classifier_epochs: int = 8
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_digit("rare_digit", self.rare_digit)
        check_count("keep", self.keep, minimum=1)
        if isinstance(self.strategies, str):
            raise TypeError(
                "strategies must be a sequence of strategy names, e.g. "
                f"[{self.strategies!r}], not a single string"
            )
        if not self.strategies:
            raise ValueError("name at least one strategy to compare with 'none'")
        for strategy in self.strategies:
            if strategy == "none":
                raise ValueError("'none' is always run: leave it out of strategies")
            check_choice("each strategy", strategy, strategies.STRATEGIES)
        if self.amounts is not None:
            if not self.amounts:
                raise ValueError("amounts must not be empty (or None for the data's)")
            for amount in self.amounts:
                check_count("amounts", amount, minimum=1)
        if len(self.seeds) < 1:
            raise ValueError("give at least one seed (the book uses five)")
        for seed in self.seeds:
            check_seed("seeds", seed)
        check_count("gan_steps", self.gan_steps, minimum=1)
        check_choice("classifier_arch", self.classifier_arch, metrics.CLASSIFIER_ARCHES)
        check_count("classifier_epochs", self.classifier_epochs, minimum=1)

    def gap(self, train: MnistData) -> int:
        """Return how many images of the rare digit the tail leaves out of ``train``."""
        available = int(train.class_counts()[self.rare_digit])
        if self.keep > available:
            raise ValueError(
                f"keep={self.keep} but the training data has only {available} "
                f"images of digit {self.rare_digit}"
            )
        return available - self.keep

    def train_classifiers(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        members: list[torch.Tensor],
        seed: int,
    ) -> list[metrics.Classifier]:
        """Train one classifier of this experiment's kind per index set in ``members``.

        All at once, with :func:`synthbook.metrics.train_classifiers`, on the
        rows of ``images`` and ``labels`` that each index set names.
        """
        return metrics.train_classifiers(
            images,
            labels,
            members,
            arch=self.classifier_arch,
            width=self.classifier_width,
            epochs=self.classifier_epochs,
            seeds=seed,
            batch_sizes=self.batch_size,
        )

    def resolve_amounts(self, train: MnistData) -> tuple[int, ...]:
        """Return the amounts added by each single strategy, for this data."""
        if self.amounts is not None:
            return tuple(int(a) for a in self.amounts)
        gap = self.gap(train)
        return tuple(sorted({max(1, gap // 6), gap}))

    def conditions(self, train: MnistData) -> list[tuple[str, int]]:
        """Return every (strategy, images added) pair the experiment runs, in order.

        "none" first, then the real reference (the images the tail left out,
        up to the gap), the single strategies, and each combination with its
        quantity control.
        """
        amounts = self.resolve_amounts(train)
        gap = self.gap(train)
        found = [("none", 0)] + [(REAL, a) for a in amounts if a <= gap]
        for strategy in self.strategies:
            if "+" in strategy:
                first = strategy.split("+")[0]
                found += [(strategy, 2 * a) for a in amounts]
                found += [(first, 2 * a) for a in amounts]
            else:
                found += [(strategy, a) for a in amounts]
        return list(dict.fromkeys(found))


def _per_class(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, ...]:
    precision, recall, _, _ = precision_recall_fscore_support(
        truth, predicted, labels=list(tails.DIGITS), zero_division=0
    )
    return precision, recall


def metric_name(metric: str, test_set: str = "as collected") -> str:
    """Return the row key of ``metric`` on one test set (plain for "as collected")."""
    check_choice("test_set", test_set, shifts.TEST_SETS)
    return metric if test_set == "as collected" else f"{metric}@{test_set}"


def _pools(
    experiment: TailExperiment,
    tail: MnistData,
    reserve: torch.Tensor,
    generator: torch.nn.Module | None,
    conditions: list[tuple[str, int]],
    seed: int,
) -> dict[str, torch.Tensor]:
    """Make each base strategy's images once, as many as its largest condition needs."""
    need: dict[str, int] = {}
    for strategy, amount in conditions:
        parts = strategy.split("+")
        for part in parts:
            need[part] = max(need.get(part, 0), amount // len(parts))
    pools = {}
    for part, amount in need.items():
        if part == "none":
            continue
        if part == REAL:
            pools[part] = reserve[:amount]
        else:
            pools[part] = strategies.synthesize(
                part,
                tail,
                experiment.rare_digit,
                amount,
                seed=seed,
                generator=generator,
            )
    return pools


def _added(pools: dict[str, torch.Tensor], strategy: str, amount: int) -> torch.Tensor:
    if strategy == "none":
        return torch.empty(0, 28, 28)
    parts = strategy.split("+")
    return torch.cat([pools[part][: amount // len(parts)] for part in parts])


def run_one_seed(
    experiment: TailExperiment,
    splits: Splits,
    judge: metrics.Classifier,
    seed: int,
    *,
    tail_gan: gan.TrainResult | None = None,
    timings: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Run every condition of ``experiment`` for one seed; one row per condition.

    Parameters
    ----------
    tail_gan : gan.TrainResult, optional
        This seed's tail GAN; default :func:`load_or_train_tail_gan`.
    timings : dict, optional
        If given, receives the seconds spent on the GAN, on making the added
        images, on training the classifiers and on scoring them.
    """
    clock = _Clock(timings)
    digit = experiment.rare_digit
    tail = tails.make_long_tail(splits.train, digit, experiment.keep, seed=seed)
    kept = tail.images[tail.labels == digit]
    reserve = left_out(splits.train, digit, experiment.keep, seed)
    held_out = _held_out(splits.judge, digit, len(kept), seed)
    conditions = experiment.conditions(splits.train)
    needs_gan = any("gan" in s for s, _ in conditions)
    with clock("gan"):
        if needs_gan and tail_gan is None:
            tail_gan = load_or_train_tail_gan(
                splits.train,
                rare_digit=digit,
                keep=experiment.keep,
                seed=seed,
                steps=experiment.gan_steps,
                progress=False,
            )
    generator = tail_gan.generator if needs_gan and tail_gan else None
    with clock("synthesis"):
        pools = _pools(experiment, tail, reserve, generator, conditions, seed)
        added = [_added(pools, s, a) for s, a in conditions]
    with clock("classifiers"):
        images = torch.cat([tail.images, *added])
        labels = torch.cat([tail.labels, torch.full((len(images) - len(tail),), digit)])
        members, start = [], len(tail)
        for extra in added:
            members.append(
                torch.cat([torch.arange(len(tail)), torch.arange(len(extra)) + start])
            )
            start += len(extra)
        models = experiment.train_classifiers(images, labels, members, seed)
    with clock("scoring"):
        tests = shifts.shifted_tests(splits.test)
        rows = []
        for (strategy, amount), extra, model in zip(
            conditions, added, models, strict=True
        ):
            row = {"seed": seed, "strategy": strategy, "amount": amount}
            row.update(score(model, tests, digit))
            row.update(_diagnostics(extra, kept, held_out, judge, digit))
            rows.append(row)
    return rows


def left_out(train: MnistData, digit: int, keep: int, seed: int) -> torch.Tensor:
    """Return the images of ``digit`` that the seed's tail left out, in a seeded order.

    These are the real images one would have had by collecting, not making,
    more of the rare digit: the experiment's reference condition.
    """
    kept = tails.long_tail_indices(train, digit, keep, seed)
    rare = np.flatnonzero(train.labels.numpy() == digit)
    out = train.images[np.setdiff1d(rare, kept)]
    order = torch.randperm(len(out), generator=torch.Generator().manual_seed(seed))
    return out[order]


def _held_out(
    judge_split: MnistData, digit: int, count: int, seed: int
) -> torch.Tensor:
    """Return ``count`` real images of ``digit`` that no model of the run saw."""
    pool = judge_split.images[judge_split.labels == digit]
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
    return pool[order[:count]]


def score(
    model: metrics.Classifier, tests: dict[str, MnistData], digit: int
) -> dict[str, float]:
    """Return accuracy, rare recall and rare precision on each test set (row keys)."""
    scores = {}
    for name, test in tests.items():
        truth = test.labels.numpy()
        predicted = model.predict(test.images)
        precision, recall = _per_class(truth, predicted)
        scores[metric_name("accuracy", name)] = float((predicted == truth).mean())
        scores[metric_name("rare_recall", name)] = float(recall[digit])
        scores[metric_name("rare_precision", name)] = float(precision[digit])
    return scores


def _diagnostics(
    added: torch.Tensor,
    kept: torch.Tensor,
    held_out: torch.Tensor,
    judge: metrics.Classifier,
    digit: int,
) -> dict[str, Any]:
    """Describe the added images: judged, near copies or not, a few examples."""
    found: dict[str, Any] = {
        "judge_agrees": float("nan"),
        "closeness": float("nan"),
        "examples": (added[:EXAMPLES] * 255).round().to(torch.uint8),
    }
    if len(added):
        found["judge_agrees"] = float((judge.predict(added) == digit).mean())
        to_kept = metrics.nearest_neighbour_distances(added, kept)
        to_held_out = metrics.nearest_neighbour_distances(added, held_out)
        # Below 1: the added digits sit closer to the few kept images than to
        # other real images of the digit, i.e. they lean towards copies.
        found["closeness"] = float(np.median(to_kept) / np.median(to_held_out))
    return found


class _Clock:
    """Add the seconds spent in ``with clock(name):`` blocks to a dict (if given)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.name = ""
        self.started = 0.0

    def __call__(self, name: str) -> _Clock:
        self.name = name
        return self

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *_: object) -> None:
        if self.timings is not None:
            spent = time.perf_counter() - self.started
            self.timings[self.name] = self.timings.get(self.name, 0.0) + spent


def _code() -> str:
    # Everything the rows depend on: this module, the tails and shifts, the
    # classifiers (and judge) and the GAN.
    return code_version(sys.modules[__name__], tails, shifts, classifiers, gan)


def run_tail_experiment(
    experiment: TailExperiment | None = None,
    *,
    splits: Splits | None = None,
    data_source: str | None = None,
    progress: bool = True,
    on_seed: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run (or read from the cache) the whole experiment; one row per seed and condition.

    Results are cached per seed by configuration, data and code version, and
    recomputed when any of them changes, so an interrupted run resumes where
    it stopped. Pass the book's ``splits`` (else they are loaded from
    ``data_source``); ``on_seed`` is called with each seed before it runs.
    """
    experiment = experiment or TailExperiment()
    if splits is None:
        splits = book_splits(load_mnist(data_source, verbose=False), seed=0)
    judge = metrics.load_or_train_judge(splits.judge, seed=0)
    settings = {k: v for k, v in asdict(experiment).items() if k != "seeds"}
    rows: list[dict[str, Any]] = []
    for seed in tqdm(experiment.seeds, desc="seeds", disable=hide_progress(progress)):
        key = make_key(
            experiment=settings,
            conditions=experiment.conditions(splits.train),
            seed=seed,
            data=splits.train.fingerprint(),
            threads=torch.get_num_threads(),
            code=_code(),
        )
        path = cache_dir("tails") / f"tails-{key}.pt"
        cached = load_or_none(path)
        if cached is None:
            if on_seed is not None:
                on_seed(seed)
            cached = run_one_seed(experiment, splits, judge, seed)
            save_checked(path, cached)
        rows.extend(cached)
    return rows
