"""Answer key of the exercises on *Too real, not real enough*."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from exercise_keys.common import as_tensor, distance_attack_auc
from synthbook import checks
from synthbook.chapters import too_real
from synthbook.data import MnistData


def share_closer_to_train(samples: Any, train: Any, holdout: Any) -> float:
    """Share of samples nearer (in pixels) to ``train`` than to an equally large ``holdout``.

    Ties count one half. Unlike ``too_real.closer_to_train_share`` this does
    not subsample, so the two reference sets must have the same size.

    Raises
    ------
    ValueError
        If ``train`` and ``holdout`` differ in size.
    """
    if len(train) != len(holdout):
        raise ValueError(
            f"train and holdout must be equally large, got {len(train)} and "
            f"{len(holdout)}"
        )
    flat = as_tensor(samples).reshape(len(samples), -1)

    def nearest(reference: Any) -> torch.Tensor:
        pixels = as_tensor(reference).reshape(len(reference), -1)
        return torch.cdist(flat, pixels).min(dim=1).values

    to_train, to_holdout = nearest(train), nearest(holdout)
    flags = (to_train < to_holdout).to(torch.float64) + 0.5 * (to_train == to_holdout)
    return float(flags.mean())


def check_task_1(
    *,
    members: MnistData,
    outsiders: MnistData,
    generated: torch.Tensor,
    claim_source: Any,
    dcr_generated: Any,
    dcr_outsiders: Any,
    median_ratio: Any,
    ratio_reading: Any,
) -> None:
    """Check Task 1: who made the claim, and distances to the closest training digit."""
    checks.check_choice(
        "claim_source",
        claim_source,
        correct="a",
        feedback={
            "a": "Jacobsen reports the claim from an interview with a biometrics "
            "company, which listed synthetic images alongside data from clients and "
            "employees.",
            "b": "no regulator appears in that passage; the claim comes from industry.",
            "c": "Jacobsen reports the claim in order to question it: he argues that the "
            "fictionality of the images is what legitimises generating ever more of "
            "them.",
            "d": "the claim is about how synthetic data are sold and justified, not "
            "about how GANs were invented.",
        },
    )
    expected_generated = too_real.distance_to_closest_record(generated, members.images)
    expected_outsiders = too_real.distance_to_closest_record(
        outsiders.images, members.images
    )
    checks.check_shape(
        "dcr_generated",
        np.asarray(dcr_generated),
        expected_generated.shape,
        hint="One distance per generated digit, to the nearest of the 100 members.",
    )
    checks.check_close(
        "dcr_generated",
        dcr_generated,
        expected_generated,
        rtol=1e-4,
        atol=1e-4,
        hint="Euclidean distance between flattened pixels (not squared), to the "
        "*closest* member.",
    )
    checks.check_close(
        "dcr_outsiders",
        dcr_outsiders,
        expected_outsiders,
        rtol=1e-4,
        atol=1e-4,
        hint="Measure the outsiders against the members, not against the generated "
        "digits.",
    )
    ratio = float(np.median(expected_generated) / np.median(expected_outsiders))
    checks.check_close(
        "median_ratio",
        median_ratio,
        ratio,
        rtol=1e-4,
        hint="Generated median on top, outsiders' median below.",
    )
    key = "a" if ratio < 0.9 else ("c" if ratio > 1.1 else "b")
    checks.check_choice(
        "ratio_reading",
        ratio_reading,
        correct=key,
        feedback={
            "a": f"the ratio is {ratio:.2f}: "
            + (
                "the typical generated digit hugs a training image."
                if key == "a"
                else "not below 0.9."
            ),
            "b": f"the ratio is {ratio:.2f}. By this yardstick the generator does not "
            "copy; but a median of absolute distances cannot say *which* real digits "
            "the generated ones are near. Task 2 asks that.",
            "c": f"the ratio is {ratio:.2f}: "
            + (
                "the generated digits stay farther away than new real ones."
                if key == "c"
                else "not above 1.1."
            ),
        },
    )


def check_task_2(
    *,
    members: MnistData,
    outsiders: MnistData,
    generated: torch.Tensor,
    closer_share: Any,
    share_reading: Any,
) -> None:
    """Check Task 2: the share of generated digits closer to the members than outsiders."""
    expected_share = share_closer_to_train(generated, members.images, outsiders.images)
    checks.check_probability("closer_share", closer_share)
    checks.check_close(
        "closer_share",
        closer_share,
        expected_share,
        atol=2e-3,
        hint="Compare each generated digit's nearest member with its nearest outsider; "
        "the share is over the 1,000 generated digits.",
    )
    library = too_real.closer_to_train_share(
        generated, members.images, outsiders.images
    )
    checks.check_close(
        "closer_share (the chapter's function)", closer_share, library.value, atol=2e-3
    )
    checks.check_choice(
        "share_reading",
        share_reading,
        correct="b",
        feedback={
            "a": "0 would mean every generated digit is nearer to digits the GAN never "
            "saw: odd for a generator that learnt from the members.",
            "b": "members and outsiders are two equally large draws from the same "
            "writers; a generator that learnt only the population has no reason to "
            f"favour either, so about half. Here it is {expected_share:.2f} "
            f"(95% interval {library.low:.2f} to {library.high:.2f}).",
            "c": "1 is what a generator that returned its training images would score.",
            "d": "the ratio of medians and the share measure different things; the share "
            "asks *which* reference set is nearer, not how far away it is.",
        },
    )


def check_task_3(
    *,
    members: MnistData,
    outsiders: MnistData,
    generated: torch.Tensor,
    full_generated: torch.Tensor,
    attack_scores: Callable[..., Any],
    auc_small: Any,
    auc_full: Any,
    prediction: Any,
) -> None:
    """Check Task 3: the black-box attack written by hand, against a small and a full GAN."""
    some = outsiders.images[:7]
    checks.check_close(
        "attack_scores(outsiders.images[:7], generated)",
        attack_scores(some, generated),
        too_real.distance_attack_scores(some, generated),
        rtol=1e-4,
        atol=1e-4,
        hint="Minus the (not squared) distance to the nearest pool image: the scores "
        "should all be negative.",
    )
    results = {}
    answers = {"auc_small": auc_small, "auc_full": auc_full}
    for name, pool in [("auc_small", generated), ("auc_full", full_generated)]:
        results[name] = too_real.attack_auc(
            too_real.distance_attack_scores(members.images, pool),
            too_real.distance_attack_scores(outsiders.images, pool),
        )
        checks.check_close(
            f"{name} (the chapter's attack_auc)",
            answers[name],
            results[name].auc,
            atol=1e-3,
            hint="Members are the positives (label 1); higher scores must mean "
            "'member'. An AUC below 0.5 often means the sign is flipped.",
        )
        checks.check_close(
            name,
            answers[name],
            distance_attack_auc(members.images, outsiders.images, pool),
            atol=1e-3,
        )
    gap = results["auc_small"].auc - results["auc_full"].auc
    key = "a" if gap > 0.02 else ("b" if gap < -0.02 else "c")
    checks.check_choice(
        "prediction",
        prediction,
        correct=key,
        feedback={
            "a": "the GAN that saw only the members passed over each of them 30 times as "
            "often, and its samples give them away more (AUC "
            f"{results['auc_small'].auc:.2f} against {results['auc_full'].auc:.2f}).",
            "b": "the full GAN saw each member only once per 3,000 images; it had far "
            "less reason to fit these 100 in particular.",
            "c": f"the two AUCs differ by {gap:+.2f}: how many images a generator learns "
            "from changes how much it says about each of them.",
        },
    )
    print(
        f"95% intervals: small GAN {results['auc_small'].low:.2f} to "
        f"{results['auc_small'].high:.2f}; full GAN {results['auc_full'].low:.2f} to "
        f"{results['auc_full'].high:.2f}"
    )
