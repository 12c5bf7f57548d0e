"""Answer key of the exercises on *Precision, portability and the generated anomaly*."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from exercise_keys.common import as_tensor, auc, confusion, distance_attack_auc
from synthbook import checks, gan, metrics
from synthbook.chapters import too_real
from synthbook.data import MnistData, Splits


def tstr_accuracy(
    images: Any,
    labels: Any,
    test_images: Any,
    test_labels: Any,
    *,
    seed: int = 0,
    epochs: int = 8,
    arch: str = "mlp",
) -> float:
    """Accuracy on real test digits of a classifier trained on ``images`` (real or synthetic).

    Trains :func:`synthbook.metrics.train_classifier` with the given settings
    and reads the accuracy off a confusion matrix built with
    :func:`torch.bincount` from the arg-max of the raw logits.

    Returns
    -------
    float
    """
    model = metrics.train_classifier(
        as_tensor(images, torch.float32),
        as_tensor(labels, torch.int64),
        arch=arch,
        epochs=epochs,
        seed=seed,
    )
    with torch.no_grad():
        predicted = model(as_tensor(test_images, torch.float32)).argmax(dim=1)
    counts = confusion(as_tensor(test_labels, torch.int64), predicted)
    return float(counts.diagonal().sum() / counts.sum())


def generated_oddness(
    generator: torch.nn.Module,
    normal: Any,
    held_out: Any,
    noise_scale: float,
    *,
    per_digit: int = 100,
    seed: int = 10,
    epochs: int = 2,
    classifier_seed: int = 0,
) -> np.ndarray:
    """How "odd" a detector trained on generated anomalies finds each held-out image.

    The detector is :func:`synthbook.metrics.train_classifier` (an MLP)
    trained to tell ``normal`` images (label 0) from ``per_digit`` generated
    images of every digit (label 1), made with ``gan.generate(generator, ...,
    seed=seed, noise_scale=noise_scale)``. The oddness of an image is the
    softmax probability of label 1, computed in float64 from the raw logits.

    Returns
    -------
    numpy.ndarray of shape (len(held_out),)
    """
    odd = gan.generate(
        generator,
        gan.class_labels(per_digit),
        seed=seed,
        noise_scale=noise_scale,
    )
    normal_t = as_tensor(normal, torch.float32).reshape(-1, 28, 28)
    labels = torch.cat([torch.zeros(len(normal_t)), torch.ones(len(odd))]).long()
    detector = metrics.train_classifier(
        torch.cat([normal_t, odd]),
        labels,
        arch="mlp",
        epochs=epochs,
        seed=classifier_seed,
    )
    with torch.no_grad():
        logits = detector(as_tensor(held_out, torch.float32)).to(torch.float64)
    return torch.softmax(logits, dim=1)[:, 1].numpy()


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..n, tied values sharing the mean of their ranks."""
    order = torch.argsort(values, stable=True)
    ranks = torch.empty(len(values), dtype=torch.float64)
    ranks[order] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    _, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    sums = torch.zeros(len(counts), dtype=torch.float64).index_add_(0, inverse, ranks)
    return (sums / counts)[inverse]


def rank_correlation(a: Any, b: Any) -> float:
    """Spearman's rank correlation of two equally long arrays.

    Pearson's correlation of the average ranks, computed in PyTorch (the
    solutions use :func:`scipy.stats.spearmanr`).

    Raises
    ------
    ValueError
        If the arrays differ in length or hold fewer than two values.
    """
    x, y = as_tensor(a).reshape(-1), as_tensor(b).reshape(-1)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(
            f"need two arrays of the same length >= 2, got {len(x)} and {len(y)}"
        )
    rx, ry = _average_ranks(x), _average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / torch.sqrt((rx * rx).sum() * (ry * ry).sum()))


def check_task_1(
    *,
    few: MnistData,
    synthetic: torch.Tensor,
    wanted: torch.Tensor,
    splits: Splits,
    acc_real: Any,
    acc_synthetic: Any,
    acc_both: Any,
    prediction: Any,
) -> None:
    """Check Task 1: train on real, synthetic or both; test on real."""
    test_x, test_y = splits.test.images, splits.test.labels
    expected = {
        "acc_real": tstr_accuracy(few.images, few.labels, test_x, test_y),
        "acc_synthetic": tstr_accuracy(synthetic, wanted, test_x, test_y),
        "acc_both": tstr_accuracy(
            torch.cat([few.images, synthetic]),
            torch.cat([few.labels, wanted]),
            test_x,
            test_y,
        ),
    }
    hints = {
        "acc_real": "Train on few.images and few.labels only.",
        "acc_synthetic": "Train on synthetic with the labels in `wanted`.",
        "acc_both": "Put the real images first, then the synthetic ones, and the labels "
        "in the same order.",
    }
    answers = {
        "acc_real": acc_real,
        "acc_synthetic": acc_synthetic,
        "acc_both": acc_both,
    }
    for name, value in answers.items():
        checks.check_probability(name, value)
        checks.check_close(
            name,
            value,
            expected[name],
            atol=1e-6,
            hint=hints[name]
            + " Use arch='mlp', epochs=8, seed=0, and score on splits.test.",
        )
    gap = expected["acc_synthetic"] - expected["acc_real"]
    key = "a" if gap > 0.02 else ("b" if gap < -0.02 else "c")
    checks.check_choice(
        "prediction",
        prediction,
        correct=key,
        feedback={
            "a": f"synthetic minus real is {gap:+.3f}. "
            + (
                "More examples won here."
                if key == "a"
                else "More examples do not help when they only vary what the generator "
                "learnt from 100 images."
            ),
            "b": f"synthetic minus real is {gap:+.3f}. "
            + (
                "The bespoke set does not replace the real images it came from."
                if key == "b"
                else "The synthetic set did not fall clearly behind here."
            ),
            "c": f"synthetic minus real is {gap:+.3f}. "
            + ("The two are close." if key == "c" else "That is more than 0.02."),
        },
    )
    print(
        f"(one classifier seed and one GAN: the chapter repeats this over seeds and "
        f"sizes; adding the synthetic digits to the real ones changed accuracy by "
        f"{expected['acc_both'] - expected['acc_real']:+.3f})"
    )


def check_task_2(
    *,
    generator: torch.nn.Module,
    normal: torch.Tensor,
    held_out: torch.Tensor,
    oddness: Any,
    shared_top: Any,
    rank_agreement: Any,
    odd_reading: Any,
) -> None:
    """Check Task 2: how odd a detector trained on generated anomalies finds each real digit."""
    expected = {
        s: generated_oddness(generator, normal, held_out, s) for s in (1.5, 3.0)
    }
    checks.check_equal("the noise scales in oddness", sorted(oddness), [1.5, 3.0])
    for s in (1.5, 3.0):
        checks.check_shape(
            f"oddness[{s}]",
            np.asarray(oddness[s]),
            (len(held_out),),
            hint="One probability per held-out digit: column 1 of predict_proba.",
        )
        checks.check_close(
            f"oddness[{s}]",
            oddness[s],
            expected[s],
            atol=1e-5,
            hint="Normal digits first (label 0), then the anomalies (label 1); seed=10 "
            "for the anomalies and seed=0, epochs=2 for the detector.",
        )
    tops = [
        set(torch.topk(torch.as_tensor(expected[s]), 100).indices.tolist())
        for s in (1.5, 3.0)
    ]
    expected_shared = len(tops[0] & tops[1])
    checks.check_close(
        "shared_top",
        shared_top,
        expected_shared,
        atol=1,
        hint="Take the 100 *highest* oddness values at each scale, then count the "
        "indices in both.",
    )
    expected_rank = rank_correlation(expected[1.5], expected[3.0])
    checks.check_close(
        "rank_agreement",
        rank_agreement,
        expected_rank,
        atol=1e-4,
        hint="Spearman's correlation of the two oddness arrays (not Pearson's).",
    )
    key = "a" if expected_shared >= 90 else ("c" if abs(expected_rank) < 0.2 else "b")
    checks.check_choice(
        "odd_reading",
        odd_reading,
        correct=key,
        feedback={
            "a": f"{expected_shared} of 100 are shared: "
            + (
                "here the two settings agree."
                if key == "a"
                else "changing one number of the generator, and nothing about the "
                "digits, changed which are the oddest."
            ),
            "b": f"{expected_shared} of 100 are shared and the rank correlation is "
            f"{expected_rank:.2f}: the detectors agree on the broad ordering but not on "
            "who is most odd. They differ only in s; whether retraining at one s "
            "moves the list as much is what the chapter's control asks.",
            "c": f"the rank correlation is {expected_rank:.2f}: "
            + (
                "the two ordinations have little in common."
                if key == "c"
                else "far from 0; the detectors agree broadly, but the top of the list "
                "moves."
            ),
        },
    )


def check_task_3(
    *,
    few: MnistData,
    outsiders: MnistData,
    synthetic: torch.Tensor,
    discriminator: torch.nn.Module,
    black_box_auc: Any,
    black_box_low: Any,
    white_box_auc: Any,
    recipient_attack: Any,
) -> None:
    """Check Task 3: what a recipient of the bespoke set can learn about its 100 real images."""
    checks.check_close(
        "black_box_auc",
        black_box_auc,
        distance_attack_auc(few.images, outsiders.images, synthetic),
        atol=1e-3,
        hint="Attack the 100 images in `few` against the 100 outsiders, with "
        "`synthetic` as the generated pool.",
    )
    black = too_real.attack_auc(
        too_real.distance_attack_scores(few.images, synthetic),
        too_real.distance_attack_scores(outsiders.images, synthetic),
    )
    checks.check_close(
        "black_box_low",
        black_box_low,
        black.low,
        atol=1e-3,
        hint="The lower end of the 95% bootstrap interval (n_boot=1000, seed=0).",
    )
    white = auc(
        too_real.discriminator_scores(discriminator, few.images, few.labels),
        too_real.discriminator_scores(
            discriminator, outsiders.images, outsiders.labels
        ),
    )
    checks.check_close(
        "white_box_auc",
        white_box_auc,
        white,
        atol=1e-3,
        hint="The white-box attack scores images with bespoke.discriminator.",
    )
    checks.check_choice(
        "recipient_attack",
        recipient_attack,
        correct="b",
        feedback={
            "a": "the white-box attack needs the trained discriminator, which stays with "
            "the team.",
            "b": "the black-box attack needs only generated digits and the candidates to "
            f"test; against this set it reaches AUC {black.auc:.2f} (interval from "
            f"{black.low:.2f}).",
            "c": "the partner has no discriminator, so only one of the two attacks is "
            "open to it.",
            "d": "the partner needs real images only as candidates to test, for instance "
            "the digits of a person it suspects were used; the attack itself runs on "
            "the synthetic set.",
        },
    )
