"""Answer key of the exercises on *What are synthetic data?*."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from exercise_keys.common import mean_images
from synthbook import checks, gan, metrics, tails
from synthbook.data import Splits


def gan_test_per_class(
    judge: torch.nn.Module,
    generator: torch.nn.Module,
    per_class: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """Return the GAN-test accuracy of each digit, shape ``(10,)``.

    The same samples as :func:`synthbook.metrics.gan_test_accuracy`
    (``gan.generate`` with ``seed``), read by the arg-max of the judge's raw
    logits, hits counted per digit with :func:`torch.bincount` (the solutions
    use ``judge.predict`` and boolean masks).
    """
    labels = gan.class_labels(per_class)
    images = gan.generate(generator, labels, seed=seed)
    judge.eval()
    with torch.no_grad():
        predicted = judge(images).argmax(dim=1)
    hits = torch.bincount(labels[predicted == labels], minlength=10).to(torch.float64)
    return (hits / per_class).numpy()


def _hinge_reference(real_score: torch.Tensor, fake_score: torch.Tensor) -> Any:
    """Return the discriminator's loss as the package trains with it (hinge)."""
    return gan.adversarial_loss(real_score, fake_score, "hinge")


def check_task_1(*, d_hinge_loss: Callable[..., Any], aux_learns_from: Any) -> None:
    """Check Task 1: the hinge loss, and what the auxiliary classifier learns from."""
    # Compare with the loss the package trains with, on random scores of two sizes.
    scores = torch.Generator().manual_seed(1)
    real_score = 2 * torch.randn(64, generator=scores)
    fake_score = 2 * torch.randn(48, generator=scores)
    checks.check_close(
        "d_hinge_loss(real_score, fake_score)",
        d_hinge_loss(real_score, fake_score),
        _hinge_reference(real_score, fake_score),
        rtol=1e-5,
        hint="Average each half separately: real and generated batches can differ in "
        "size.",
    )
    confident = torch.full((8,), 3.0)
    checks.check_close(
        "d_hinge_loss for a confident, correct discriminator",
        d_hinge_loss(confident, -confident),
        _hinge_reference(confident, -confident),
        atol=1e-6,
        hint="A real image scored above 1 costs nothing; so does a generated one "
        "scored below -1.",
    )
    checks.check_choice(
        "aux_learns_from",
        aux_learns_from,
        correct="a",
        feedback={
            "a": "the discriminator's classification loss uses `real_class`, its reading "
            "of the real batch; the generator is then rewarded when its images are read "
            "as their label.",
            "b": "the generated images' digit logits enter only the generator's loss, "
            "which does not update the discriminator.",
            "c": "look again: in the discriminator's update only `real_class` goes into "
            "the cross-entropy.",
            "d": "the classifier is part of the discriminator and is updated at every "
            "step.",
        },
    )


def check_task_2(
    *,
    splits: Splits,
    frechet_1d: Callable[..., Any],
    fd_floor: Any,
    fd_collapsed: Any,
) -> None:
    """Check Task 2: the one-dimensional Fréchet distance, its floor, and a collapsed generator."""
    rng = np.random.default_rng(3)
    small_a, small_b = rng.normal(0, 1, 7), rng.normal(2, 3, 11)
    checks.check_close(
        "frechet_1d on small random samples",
        frechet_1d(small_a, small_b),
        metrics.frechet_distance(small_a[:, None], small_b[:, None]),
        rtol=1e-6,
        hint="Use the standard deviation with the n - 1 denominator (ddof=1), as "
        "np.cov does.",
    )
    ink = {
        name: tails.style_scores(part.images, "ink")
        for name, part in [("train", splits.train), ("test", splits.test)]
    }
    checks.check_close(
        "fd_floor",
        fd_floor,
        metrics.frechet_distance(ink["train"][:, None], ink["test"][:, None]),
        rtol=1e-6,
        atol=1e-6,
        hint="Compare the ink of all train with all test images.",
    )
    means = mean_images(splits.train.images, splits.train.labels)
    collapsed = torch.as_tensor(means[splits.test.labels.numpy()])
    mean_ink = tails.style_scores(collapsed, "ink")
    checks.check_close(
        "fd_collapsed",
        fd_collapsed,
        metrics.frechet_distance(ink["test"][:, None], mean_ink[:, None]),
        rtol=1e-5,
        atol=1e-6,
        hint="One mean train image per test image, chosen by the test image's label.",
    )


def check_task_3(
    *,
    judge: torch.nn.Module,
    generator: torch.nn.Module,
    gan_test: Any,
    gan_test_per_digit: Any,
    weakest_digit: Any,
) -> None:
    """Check Task 3: GAN-test accuracy of a tiny GAN, per digit, and its weakest digit."""
    checks.check_in_range(
        "gan_test",
        gan_test,
        0.2,
        1.0,
        hint="Chance is 0.1: a judge reading the digits asked for should do far better, "
        "even after 300 steps. Did you pass the labels in order?",
    )
    checks.check_close(
        "gan_test",
        gan_test,
        metrics.gan_test_accuracy(judge, generator, per_class=100, seed=0),
        rtol=1e-6,
        hint="100 samples per digit, seed=0, digits in order 0, 0, ..., 9.",
    )
    expected = gan_test_per_class(judge, generator, per_class=100, seed=0)
    checks.check_shape("gan_test_per_digit", np.asarray(gan_test_per_digit), (10,))
    checks.check_close("gan_test_per_digit", gan_test_per_digit, expected, atol=1e-9)
    checks.check_in_range("weakest_digit", weakest_digit, 0, 9)
    checks.check_close(
        "the share of weakest_digit",
        expected[int(weakest_digit)],
        expected.min(),
        atol=1e-9,
        hint="Take the digit with the smallest share (np.argmin).",
    )
