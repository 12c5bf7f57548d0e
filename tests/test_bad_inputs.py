"""Bad inputs, as learners and instructors get them wrong: a clear error for each.

Every case names a call and what it must raise: the error type, and a pattern
that the message must contain (the argument's name, and for some the fix).
Command-line cases must end with exit code 2, the message on stderr and no
traceback. Cases in modules that other helpers are fixing are marked
``xfail(strict=True)`` with the branch that fixes them; the coordinator removes
the mark when the branch is merged (a strict xfail that starts passing fails).

``CASES`` and ``CLI_CASES`` are plain data so that a probe script can reuse
them (and count clear / unclear / crash / silent outcomes).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import math
import re
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from synthbook import cache, checks, data, gan, metrics, repro, stats, validate, widgets
from synthbook.chapters import differential_privacy as dp
from synthbook.chapters import separating_power as sp
from synthbook.chapters import too_real, variability
from synthbook.tools import cli

NAN, INF = float("nan"), float("inf")


@dataclass
class Context:
    """What the cases need: a small data set, an untrained generator, files."""

    data: data.MnistData
    generator: torch.nn.Module
    folder: Path
    checkpoint: Path
    hostile: Path
    foreign: Path
    other_version: Path
    existing: Path


@dataclass
class Case:
    """A call that must fail with ``error`` and a message matching ``pattern``."""

    id: str
    error: type[BaseException] | tuple[type[BaseException], ...]
    pattern: str
    call: Callable[[Context], Any]
    fixed_on: str | None = None  # the branch that fixes it, while it is not merged
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class CliCase:
    """A command line that must exit with 2, saying ``pattern`` on stderr."""

    id: str
    pattern: str
    argv: Callable[[Context], list[str]]
    fixed_on: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def _digits(n: int = 28) -> torch.Tensor:
    return torch.rand(4, n, n, generator=torch.Generator().manual_seed(0))


def _with_pixel(value: float) -> torch.Tensor:
    images = _digits()
    images[1, 2, 3] = value
    return images


LABELS = torch.tensor([0, 1, 2, 3])
LATENT = gan.GANConfig().latent_dim

# fmt: off
CASES: list[Case] = [
    Case("mnistdata-0-255", ValueError, r"images.*divide by 255",
         lambda c: data.MnistData(_digits() * 255, LABELS, "x")),
    Case("mnistdata-minus-one-to-one", ValueError, r"images.*\(images \+ 1\) / 2",
         lambda c: data.MnistData(_digits() * 2 - 1, LABELS, "x")),
    Case("mnistdata-uint8", TypeError, r"images.*/ 255",
         lambda c: data.MnistData((_digits() * 255).byte(), LABELS, "x")),
    Case("mnistdata-nan-pixel", ValueError, r"images holds 1 NaN",
         lambda c: data.MnistData(_with_pixel(NAN), LABELS, "x")),
    Case("mnistdata-inf-pixel", ValueError, r"images holds 1 NaN or infinite",
         lambda c: data.MnistData(_with_pixel(INF), LABELS, "x")),
    Case("mnistdata-numpy", TypeError, r"images must be a torch.Tensor",
         lambda c: data.MnistData(_digits().numpy(), LABELS, "x")),
    Case("mnistdata-flat", ValueError, r"images must have shape \(N, 28, 28\)",
         lambda c: data.MnistData(_digits().reshape(4, -1), LABELS, "x")),
    Case("mnistdata-label-10", ValueError, r"labels must be digits 0 to 9, got 10",
         lambda c: data.MnistData(_digits(), torch.tensor([0, 1, 2, 10]), "x")),
    Case("mnistdata-label-minus-1", ValueError, r"labels must be digits 0 to 9",
         lambda c: data.MnistData(_digits(), torch.tensor([0, 1, 2, -1]), "x")),
    Case("mnistdata-float-labels", TypeError, r"labels.*labels.long\(\)",
         lambda c: data.MnistData(_digits(), LABELS.float(), "x")),
    Case("mnistdata-label-count", ValueError, r"labels must have shape \(4,\)",
         lambda c: data.MnistData(_digits(), LABELS[:3], "x")),
    Case("load-unknown-source", ValueError, r"source.*auto, mnist, embedded",
         lambda c: data.load_mnist("nonsense")),
    Case("load-source-not-a-string", TypeError, r"source",
         lambda c: data.load_mnist(3)),
    Case("load-env-source", ValueError, r"SYNTHBOOK_DATA",
         lambda c: data.load_mnist(), env={"SYNTHBOOK_DATA": "bogus"}),
    Case("load-per-class-float", TypeError, r"per_class must be a whole number",
         lambda c: data.load_mnist("embedded", per_class=2.5)),
    Case("load-per-class-bool", TypeError, r"per_class",
         lambda c: data.load_mnist("embedded", per_class=True)),
    Case("load-per-class-zero", ValueError, r"per_class must be at least 1",
         lambda c: data.load_mnist("embedded", per_class=0)),
    Case("load-seed-negative", ValueError, r"seed",
         lambda c: data.load_mnist("embedded", seed=-1)),
    Case("balanced-too-many", ValueError, r"per_class must be between 1 and 50",
         lambda c: data.balanced_subset(c.data, 51)),
    Case("balanced-string", TypeError, r"per_class.*string",
         lambda c: data.balanced_subset(c.data, "5")),
    Case("split-fraction-one", ValueError, r"test_fraction",
         lambda c: data.stratified_split(c.data.labels, 1.0)),
    Case("split-fraction-nan", ValueError, r"test_fraction must be a finite number",
         lambda c: data.stratified_split(c.data.labels, NAN)),
    Case("splits-of-a-tensor", TypeError, r"data must be an MnistData",
         lambda c: data.book_splits(c.data.images)),
    Case("setup-seed-negative", ValueError, r"seed must be a whole number from 0",
         lambda c: repro.setup(seed=-1, verbose=False)),
    Case("setup-seed-float", TypeError, r"seed must be a whole number",
         lambda c: repro.setup(seed=1.5, verbose=False)),
    Case("setup-threads-zero", ValueError, r"threads must be at least 1",
         lambda c: repro.setup(threads=0, verbose=False)),
    Case("setup-threads-bool", TypeError, r"threads must be a whole number",
         lambda c: repro.choose_threads(True)),
    Case("threads-absurd", ValueError, r"threads must be .*at most 1,024",
         lambda c: repro.choose_threads(10**6)),
    Case("threads-env-word", ValueError, r"SYNTHBOOK_THREADS.*'many'",
         lambda c: repro.choose_threads(), env={"SYNTHBOOK_THREADS": "many"}),
    Case("threads-env-zero", ValueError, r"SYNTHBOOK_THREADS.*'0'",
         lambda c: repro.choose_threads(), env={"SYNTHBOOK_THREADS": "0"}),
    Case("cache-variable-is-a-file", cache.CacheDirError, r"SYNTHBOOK_CACHE=.*is a file",
         lambda c: cache.cache_dir("gan"), env={"SYNTHBOOK_CACHE": "@existing"}),
    Case("cache-entry-hostile", cache.UnsafeCacheError,
         r"not written by synthbook.*weights_only=False",
         lambda c: cache.load_checked(c.hostile)),
    Case("cache-entry-foreign", cache.CorruptCacheError, r"not a synthbook cache file",
         lambda c: cache.load_checked(c.foreign)),
    Case("cache-entry-folder", IsADirectoryError, r"is a folder, not a cache file",
         lambda c: cache.load_checked(c.folder)),
    Case("check-close-string", AssertionError, r"share should be a number, not the string",
         lambda c: checks.check_close("share", "0.5", 0.5)),
    Case("check-range-string", AssertionError, r"digit should be a number, not the string",
         lambda c: checks.check_in_range("digit", "3", 0, 9)),
    Case("check-close-bool", AssertionError, r"share should be a number, got the truth value",
         lambda c: checks.check_close("share", True, 1.0)),
    Case("check-probability-share-above-one", AssertionError,
         r"share should be a share between 0 and 1, but share is 1.5, above 1",
         lambda c: checks.check_probability("share", 1.5)),
    Case("check-probability-nan", AssertionError, r"share contains NaN",
         lambda c: checks.check_probability("share", NAN)),
    Case("check-equal-long-arrays", AssertionError,
         r"^5,000 of 5,000 values of labels differ.*index \(0,\): 0 instead of 1\.$",
         lambda c: checks.check_equal("labels", np.arange(5000), np.arange(1, 5001))),
    Case("check-placeholder", AssertionError, r"share has no answer yet",
         lambda c: checks.check_close("share", ..., 0.5)),
    Case("check-shape-list", AssertionError, r"means should be an array",
         lambda c: checks.check_shape("means", [1, 2], (2,))),
    Case("validate-digits-string", TypeError,
         r"rare must be digits given as numbers, e\.g\. \[8, 9\]",
         lambda c: validate.check_digits("rare", "89")),
    Case("validate-choices-string", TypeError,
         r"strategies must be a list of names, e\.g\. \['gan'\]",
         lambda c: validate.check_choices("strategies", "gan", ["gan", "copy"])),
    Case("validate-count-bool", TypeError, r"amount must be a whole number",
         lambda c: validate.check_count("amount", True)),
    Case("validate-output-folder", ValueError, r"out .* is a folder",
         lambda c: validate.check_output_path("out", c.folder)),
    Case("generate-float-digit", (TypeError, ValueError), r"(digit|labels).*whole number",
         lambda c: gan.generate(c.generator, 3.0, n=5)),
    Case("generate-digit-string", TypeError, r"labels .*string '3'; write 3",
         lambda c: gan.generate(c.generator, "3", n=2)),
    Case("generate-n-with-labels", ValueError, r"n=2 is only for a single digit",
         lambda c: gan.generate(c.generator, [1, 2], n=2)),
    Case("gan-test-per-class-zero", ValueError, r"per_class must be at least 1",
         lambda c: metrics.gan_test_accuracy(None, c.generator, per_class=0)),
    Case("summarise-empty", ValueError, r"rows: none given",
         lambda c: stats.summarise([])),
    Case("paired-difference-numbers", TypeError, r"rows\[0\] must be a result row",
         lambda c: stats.paired_difference([1.0, 2.0], ("gan", 1))),
    Case("summarise-wrong-metric", ValueError, r"rows\[0\] has no 'recall'",
         lambda c: stats.summarise([{"seed": 0, "strategy": "gan", "amount": 1,
                                     "accuracy": 0.5}], "recall")),
    Case("generate-noise-nan", ValueError, r"noise_scale",
         lambda c: gan.generate(c.generator, 3, n=2, noise_scale=NAN)),
    Case("generate-noise-inf", ValueError, r"noise_scale",
         lambda c: gan.generate(c.generator, 3, n=2, noise_scale=INF)),
    Case("generate-truncation-nan", ValueError, r"truncation",
         lambda c: gan.generate(c.generator, 3, n=2, truncation=NAN)),
    Case("generate-z-nan", ValueError, r"\bz\b",
         lambda c: gan.generate(c.generator, [1, 2], z=torch.full((2, LATENT), NAN))),
    Case("generate-label-weights-nan", ValueError, r"labels",
         lambda c: gan.generate(c.generator, torch.full((2, 10), NAN))),
    Case("generate-n-float", TypeError, r"\bn\b",
         lambda c: gan.generate(c.generator, 3, n=2.5)),
    Case("generate-n-bool", TypeError, r"\bn\b",
         lambda c: gan.generate(c.generator, 3, n=True)),
    Case("generate-digit-out-of-range", ValueError, r"labels must be a digit 0 to 9",
         lambda c: gan.generate(c.generator, 10, n=2)),
    Case("latents-seed-negative", ValueError, r"seed",
         lambda c: gan.sample_latents(5, 8, seed=-1)),
    Case("latents-n-float", TypeError, r"\bn\b",
         lambda c: gan.sample_latents(2.5, 8)),
    Case("train-steps-inf", (TypeError, ValueError), r"steps",
         lambda c: gan.train_gan(c.data, steps=INF, progress=False)),
    Case("train-seconds-nan", ValueError, r"seconds",
         lambda c: gan.train_gan(c.data, seconds=NAN, progress=False)),
    Case("train-steps-float", TypeError, r"steps",
         lambda c: gan.train_gan(c.data, steps=2.5, progress=False)),
    Case("train-no-budget", ValueError, r"give a budget",
         lambda c: gan.train_gan(c.data, progress=False)),
    Case("config-aux-weight-nan", ValueError, r"aux_weight",
         lambda c: gan.GANConfig(aux_weight=NAN)),
    Case("config-lr-nan", ValueError, r"lr_g",
         lambda c: gan.GANConfig(lr_g=NAN)),
    Case("config-latent-zero", ValueError, r"latent_dim",
         lambda c: gan.GANConfig(latent_dim=0)),
    Case("interpolate-label-float", (TypeError, ValueError), r"label_start",
         lambda c: gan.interpolate(c.generator, label_start=1.5, label_end=2)),
    Case("interpolate-steps-float", TypeError, r"steps must be a whole number",
         lambda c: gan.interpolate(c.generator, label_start=1, label_end=2, steps=2.5)),
    Case("checkpoint-other-version", ValueError, r"another version",
         lambda c: gan.load_checkpoint(c.other_version)),
    Case("render-digit-minus-one", ValueError, r"digit",
         lambda c: widgets.render(c.generator, digit=-1)),
    Case("render-digit-ten", ValueError, r"digit",
         lambda c: widgets.render(c.generator, digit=10)),
    Case("render-digit-float", TypeError, r"digit",
         lambda c: widgets.render(c.generator, digit=3.5)),
    Case("render-noise-nan", ValueError, r"noise_scale",
         lambda c: widgets.render(c.generator, noise_scale=NAN)),
    Case("render-truncation-nan", ValueError, r"truncation",
         lambda c: widgets.render(c.generator, truncation=NAN)),
    Case("render-seed-negative", ValueError, r"seed",
         lambda c: widgets.render(c.generator, seed=-1)),
    Case("render-count-zero", ValueError, r"count",
         lambda c: widgets.render(c.generator, count=0)),
    Case("render-blend-above-one", ValueError, r"blend must be (in \[0, 1\]|between 0 and 1)",
         lambda c: widgets.render(c.generator, blend_toward=3, blend=1.5)),
    Case("long-tail-digits-string", TypeError, r"rare_digits",
         lambda c: variability.make_long_tail(c.data, "89", 5)),
    Case("long-tail-keep-zero", ValueError, r"cannot keep 0 images",
         lambda c: variability.make_long_tail(c.data, 8, 0)),
    Case("tails-strategies-string", TypeError, r"strategies.*\['gan'\]",
         lambda c: variability.TailExperiment(strategies="gan")),
    Case("tails-amounts-float", TypeError, r"amounts",
         lambda c: variability.TailExperiment(amounts=(48.5,))),
    Case("tails-keep-bool", TypeError, r"keep",
         lambda c: variability.TailExperiment(keep=True)),
    Case("tails-seed-negative", ValueError, r"seed",
         lambda c: variability.TailExperiment(seeds=(-1,))),
    Case("synthesize-amount-float", TypeError, r"amount",
         lambda c: variability.synthesize("oversample", c.data, 8, 2.5)),
    Case("synthesize-unknown", ValueError, r"unknown strategy 'bogus'",
         lambda c: variability.synthesize("bogus", c.data, 8, 3)),
    Case("frechet-nan", ValueError, r"features",
         lambda c: metrics.frechet_distance(np.full((5, 2), NAN), np.ones((5, 2)))),
    Case("classifier-nan-images", ValueError, r"images",
         lambda c: metrics.train_classifier(_with_pixel(NAN), LABELS, arch="mlp", epochs=1)),
    Case("classifier-epochs-float", TypeError, r"epochs",
         lambda c: metrics.train_classifier(_digits(), LABELS, arch="mlp", epochs=2.5)),
    Case("classifier-arch", ValueError, r"arch 'resnet'",
         lambda c: metrics.train_classifier(c.data.images[:8], c.data.labels[:8], arch="resnet")),
    Case("knn-k-zero", ValueError, r"\bk\b",
         lambda c: metrics.knn_precision_recall(np.ones((5, 2)), np.ones((5, 2)), k=0)),
    Case("mean-interval-empty", ValueError, r"values",
         lambda c: stats.mean_interval([])),
    Case("mean-interval-nan", ValueError, r"values",
         lambda c: stats.mean_interval([NAN, 1.0, 2.0])),
    Case("boundary-digits-string", TypeError, r"digits",
         lambda c: sp.check_digits("49")),
    Case("boundary-one-digit", ValueError, r"two or three digits",
         lambda c: sp.check_digits([4])),
    Case("boundary-amount-float", ValueError, r"amount must be a whole number",
         lambda c: sp.check_amount(2.5)),
    Case("boundary-oddness-nan", ValueError, r"oddness",
         lambda c: sp.blend_plan((4, 9), 10, NAN)),
    Case("dcr-nan-samples", ValueError, r"samples",
         lambda c: too_real.distance_to_closest_record(_with_pixel(NAN), c.data.images[:5])),
    Case("attack-auc-nan", ValueError, r"scores must be finite",
         lambda c: too_real.attack_auc(np.array([NAN, 1.0]), np.array([1.0, 0.5]))),
    Case("auc-ceiling-nan", ValueError, r"epsilon",
         lambda c: dp.auc_ceiling(NAN)),
    Case("dp-sample-rate", ValueError, r"sample_rate must be in \(0, 1\)",
         lambda c: dp.noise_multiplier_for(dp.DPSettings(4), sample_rate=1.5, steps=1000)),
]
# fmt: on


def _train(c: Context, *options: str, out: Path | None = None) -> list[str]:
    return ["train-gan", *options, "--out", str(out or c.folder / "new.pt")]


def _sample(
    c: Context, *options: str, checkpoint: Path | None = None, out: Path | None = None
) -> list[str]:
    where = ["--checkpoint", str(checkpoint or c.checkpoint)]
    return ["sample", *where, *options, "--out", str(out or c.folder / "s.npz")]


# fmt: off
CLI_CASES: list[CliCase] = [
    CliCase("data-seed-negative", r"--seed must be a whole number from 0",
            lambda c: ["data", "--seed", "-1"]),
    CliCase("data-seed-float", r"--seed: must be a whole number, got '1.5'",
            lambda c: ["data", "--seed", "1.5"]),
    CliCase("data-unknown-source", r"--data: invalid choice",
            lambda c: ["data", "--data", "bogus"]),
    CliCase("data-threads-env", r"SYNTHBOOK_THREADS",
            lambda c: ["data"], env={"SYNTHBOOK_THREADS": "many"}),
    CliCase("boundaries-amount-huge", r"--amount must be .*at most 10,000",
            lambda c: ["boundaries", "--amount", "1000000000"]),
    CliCase("boundaries-amount-float", r"--amount: must be a whole number",
            lambda c: ["boundaries", "--amount", "2.5"]),
    CliCase("boundaries-noise-negative", r"--noise-scale must be in \[0, 10\]",
            lambda c: ["boundaries", "--noise-scale", "-1"]),
    CliCase("boundaries-noise-nan", r"--noise-scale: must be a finite number",
            lambda c: ["boundaries", "--noise-scale", "nan"]),
    CliCase("boundaries-oddness", r"oddness must be between 0",
            lambda c: ["boundaries", "--oddness", "0.9"]),
    CliCase("boundaries-same-digit", r"same class twice",
            lambda c: ["boundaries", "--pair", "4", "4"]),
    CliCase("boundaries-digit-12", r"digits must be a digit 0 to 9",
            lambda c: ["boundaries", "--pair", "4", "12"]),
    CliCase("boundaries-rule", r"unknown labelling rule 'vibes'",
            lambda c: ["boundaries", "--rule", "vibes"]),
    CliCase("boundaries-seed", r"--seed must be a whole number from 0",
            lambda c: ["boundaries", "--seed", "-2"]),
    CliCase("train-out-folder", r"--out .* is a folder; give a file name inside it",
            lambda c: _train(c, "--steps", "2", out=c.folder)),
    CliCase("train-out-under-a-file", r"--out .* cannot be created: .* is a file",
            lambda c: _train(c, "--steps", "2", out=c.existing / "g.pt")),
    CliCase("train-out-exists", r"--out .* exists; .*--force",
            lambda c: _train(c, "--steps", "2", out=c.existing)),
    CliCase("train-no-budget", r"give a budget: --seconds, --steps",
            lambda c: _train(c)),
    CliCase("train-seconds-nan", r"--seconds: must be a finite number",
            lambda c: _train(c, "--seconds", "nan")),
    CliCase("train-steps-inf", r"--steps: must be a whole number",
            lambda c: _train(c, "--steps", "inf")),
    CliCase("train-seconds-tiny", r"--seconds must be in \[1, ",
            lambda c: _train(c, "--seconds", "1e-6")),
    CliCase("train-steps-zero", r"--steps must be at least 1",
            lambda c: _train(c, "--steps", "0")),
    CliCase("train-steps-huge", r"--steps must be .*at most 1,000,000",
            lambda c: _train(c, "--steps", "1e7")),
    CliCase("sample-checkpoint-folder", r"--checkpoint .* is a folder",
            lambda c: _sample(c, checkpoint=c.folder)),
    CliCase("sample-checkpoint-missing", r"--checkpoint .*absent.pt does not exist",
            lambda c: _sample(c, checkpoint=c.folder / "absent.pt")),
    CliCase("sample-checkpoint-hostile",
            r"--checkpoint .* not written by synthbook.*must not be loaded",
            lambda c: _sample(c, checkpoint=c.hostile)),
    CliCase("sample-checkpoint-foreign", r"--checkpoint .* is not a synthbook checkpoint",
            lambda c: _sample(c, checkpoint=c.foreign)),
    CliCase("sample-checkpoint-other-version", r"--checkpoint.* another version of synthbook",
            lambda c: _sample(c, checkpoint=c.other_version)),
    CliCase("sample-per-class-huge", r"--per-class must be .*at most 10,000",
            lambda c: _sample(c, "--per-class", "1e9")),
    CliCase("sample-per-class-zero", r"--per-class must be at least 1",
            lambda c: _sample(c, "--per-class", "0")),
    CliCase("sample-out-suffix", r"--out must end in .npz",
            lambda c: _sample(c, out=c.folder / "s.txt")),
    CliCase("sample-out-folder", r"--out .* is a folder",
            lambda c: _sample(c, out=c.folder)),
    CliCase("sample-out-exists", r"--out .*exists|--out must end in .npz",
            lambda c: _sample(c, out=c.existing)),
    CliCase("bench-unknown", r"unknown benchmark 'nonsense'",
            lambda c: ["bench", "nonsense"]),
    CliCase("bench-seconds-nan", r"--seconds: must be a finite number",
            lambda c: ["bench", "gan", "--seconds", "nan"]),
    CliCase("bench-seconds-zero", r"--seconds must be in \[1, ",
            lambda c: ["bench", "gan", "--seconds", "0"]),
    CliCase("belonging-seed", r"--seed must be a whole number from 0",
            lambda c: ["belonging", "--seed", "-1"]),
    CliCase("prepare-cache-is-a-file", r"SYNTHBOOK_CACHE=.* is a file",
            lambda c: ["prepare", "--quiet"], env={"SYNTHBOOK_CACHE": "@existing"}),
    CliCase("exercises-no-repository", r"exercises/src",
            lambda c: ["exercises", "--root", str(c.folder)]),
]
# fmt: on


# Running the cases --------------------------------------------------------------------


class TimeLimitError(Exception):
    """A call ran past its time limit (a hang counts as a failure, not a pass)."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`TimeLimitError` in the main thread after ``seconds``."""

    def expire(signum: int, frame: object) -> None:
        raise TimeLimitError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _hostile_file(path: Path) -> Path:
    class Payload:
        def __reduce__(self) -> tuple:
            return (print, ("this would run on load",))

    buffer = io.BytesIO()
    torch.save({"generator": Payload()}, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest().encode()
    path.write_bytes(cache._MAGIC + digest + b"\n" + payload)
    return path


def make_context(folder: Path) -> Context:
    """Build the small data set, generator and files the cases use, in ``folder``."""
    full = data.load_mnist("embedded", verbose=False)
    small = full.subset(np.arange(0, len(full), 10))  # 500 images, 50 per digit
    torch.manual_seed(0)
    generator, _ = gan.build_models(gan.GANConfig())
    trained = gan.train_gan(small, steps=1, progress=False)
    checkpoint = gan.save_checkpoint(trained, folder / "tiny.pt")
    other = cache.save_checked(
        folder / "other-version.pt",
        {
            "generator": {},
            "discriminator": {},
            "config": {"latent_dim": 5, "a_setting_from_another_version": 1},
            "history": {},
            "steps": 1,
            "seconds": 0.1,
        },
    )
    existing = folder / "existing.npz"
    existing.write_bytes(b"not empty")
    foreign = folder / "foreign.pt"
    foreign.write_bytes(b"PK\x03\x04 a zip file, say")
    box = folder / "a-folder"
    box.mkdir()
    return Context(
        small,
        generator,
        box,
        checkpoint,
        _hostile_file(folder / "hostile.pt"),
        foreign,
        other,
        existing,
    )


def resolve_env(env: dict[str, str], context: Context) -> dict[str, str]:
    """Replace ``@existing`` in environment values by the path of a plain file."""
    return {k: str(context.existing) if v == "@existing" else v for k, v in env.items()}


def run_cli(argv: list[str]) -> tuple[int, str]:
    """Run the command line in this process; return the exit code and stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Context:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_context(tmp_path_factory.mktemp("bad-inputs"))


def _params(cases: list) -> list:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[
                pytest.mark.xfail(
                    strict=True, reason=f"fixed on branch {case.fixed_on}"
                )
            ]
            if case.fixed_on
            else [],
        )
        for case in cases
    ]


@pytest.mark.parametrize("case", _params(CASES))
def test_api_bad_input(
    case: Case, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in resolve_env(case.env, context).items():
        monkeypatch.setenv(name, value)
    with time_limit(8), pytest.raises(case.error) as info:
        case.call(context)
    assert re.search(case.pattern, str(info.value), re.S), str(info.value)
    raised_in = str(info.traceback[-1].path)
    assert "/synthbook/" in raised_in, f"raised inside a library: {raised_in}"


@pytest.mark.parametrize("case", _params(CLI_CASES))
def test_cli_bad_input(
    case: CliCase, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in resolve_env(case.env, context).items():
        monkeypatch.setenv(name, value)
    with time_limit(60):
        code, err = run_cli(case.argv(context))
    assert code == 2, err
    assert "Traceback" not in err
    assert re.search(case.pattern, err, re.S), err


def test_every_command_has_a_case(context: Context) -> None:
    parser = cli.build_parser()
    commands = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert set(commands.choices) == {case.argv(context)[0] for case in CLI_CASES}


def test_the_table_is_large_enough() -> None:
    assert len(CASES) + len(CLI_CASES) >= 60


# Cases that are not one call: lost work, memory, a missing extra ------------------------


def test_a_trained_model_is_never_lost_when_out_cannot_be_written(
    context: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "model.pt"
    real = gan.save_checkpoint

    def refuse_out(result: gan.TrainResult, path: str | Path) -> Path:
        if Path(path) == out:  # the folder became read-only during training
            raise PermissionError(13, "Permission denied", str(path))
        return real(result, path)

    monkeypatch.setattr(gan, "save_checkpoint", refuse_out)
    monkeypatch.setattr(data, "load_mnist", lambda *a, **k: context.data)
    code, err = run_cli(["train-gan", "--steps", "1", "--out", str(out)])
    assert code == 2 and "Traceback" not in err
    match = re.search(r"the trained model is safe in (\S+):", err)
    assert match and "Permission denied" in err and str(out) in err, err
    rescued = Path(match.group(1))
    assert gan.load_checkpoint(rescued).steps == 1
    rescued.unlink()


def test_running_out_of_memory_is_a_message(
    context: Context, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(gan, "generate", no_memory)
    code, err = run_cli(
        [
            "sample",
            "--checkpoint",
            str(context.checkpoint),
            "--out",
            str(tmp_path / "s.npz"),
        ]
    )
    assert code == 2 and "Traceback" not in err
    assert "ran out of memory" in err and "--per-class" in err
    assert not (tmp_path / "s.npz").exists()


def test_exercises_without_jupytext_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "jupytext", None)
    monkeypatch.delitem(sys.modules, "synthbook.tools.exercises", raising=False)
    monkeypatch.delitem(sys.modules, "synthbook.tools.exercise_pages", raising=False)
    code, err = run_cli(["exercises", "--check"])
    assert code == 2 and "Traceback" not in err
    assert "jupytext" in err and "synthbook[book]" in err


def test_prepare_stops_before_work_on_a_read_only_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(data, "load_mnist", lambda *a, **k: pytest.fail("loaded data"))
    code, err = run_cli(["prepare", "--quiet"])
    assert code == 2 and "cannot write to SYNTHBOOK_CACHE=" in err


def test_debug_variable_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHBOOK_DEBUG", "1")
    with pytest.raises(ValueError, match="--seed"):
        cli.main(["data", "--seed", "-1"])


def test_a_hang_is_caught_by_the_time_limit() -> None:
    with pytest.raises(TimeLimitError), time_limit(1):
        while True:
            math.sqrt(2.0)
