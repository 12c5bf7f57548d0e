"""Answer key of the exercises on *Variability, exposure and the odd*."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, recall_score

from exercise_keys.common import as_tensor, confusion
from synthbook import checks, metrics
from synthbook.chapters import variability
from synthbook.data import MnistData, Splits

STRATEGIES = ("none", "oversample", "perturb")


def augmented_recall(
    train: MnistData,
    test: MnistData,
    digit: int,
    keep: int,
    strategy: str,
    amount: int,
    *,
    seed: int = 0,
    epochs: int = 2,
    arch: str = "mlp",
) -> tuple[float, float]:
    """Recall of the rare ``digit`` and overall accuracy after filling a long tail.

    Keep ``keep`` training images of ``digit`` (``variability.make_long_tail``),
    add ``amount`` images made by ``strategy`` (``variability.synthesize``,
    after the long-tailed images, labelled ``digit``), train
    :func:`synthbook.metrics.train_classifier` and score it on ``test``. Recall
    and accuracy are read off a confusion matrix built with
    :func:`torch.bincount` (the solutions use boolean masks).

    Returns
    -------
    (rare_recall, accuracy) : tuple of float
    """
    tail = variability.make_long_tail(train, digit, keep, seed=seed)
    added = variability.synthesize(strategy, tail, digit, amount, seed=seed)
    images = torch.cat([tail.images, added])
    labels = torch.cat(
        [tail.labels, torch.full((len(added),), digit, dtype=torch.int64)]
    )
    model = metrics.train_classifier(
        images, labels, arch=arch, epochs=epochs, seed=seed
    )
    predicted = torch.as_tensor(model.predict(test.images)).long()
    counts = confusion(as_tensor(test.labels, torch.int64), predicted)
    rare_recall = float(counts[digit, digit] / counts[digit].sum())
    accuracy = float(counts.diagonal().sum() / counts.sum())
    return rare_recall, accuracy


def check_task_1(
    *,
    splits: Splits,
    tail_images: Any,
    tail_labels: Any,
    rare_share: Any,
    imbalance: Any,
) -> None:
    """Check Task 1: a long tail of 8s made by hand, its share of 8s and its imbalance."""
    reference = variability.make_long_tail(splits.train, 8, 12, seed=0)
    ref_counts = reference.class_counts()
    checks.check_shape(
        "tail_images",
        tail_images,
        tuple(reference.images.shape),
        hint="Keep all 2,700 images of the other digits and 12 of the 8s.",
    )
    checks.check_equal(
        "the digit counts of tail_labels",
        np.bincount(np.asarray(tail_labels), minlength=10),
        ref_counts,
    )
    # Every kept image must be a real training image of its label (not a copy or new).
    train_keys = {
        (img.tobytes(), int(lab))
        for img, lab in zip(
            splits.train.images.numpy(), splits.train.labels.numpy(), strict=True
        )
    }
    kept_keys = {
        (np.asarray(img, dtype=np.float32).tobytes(), int(lab))
        for img, lab in zip(
            np.asarray(tail_images), np.asarray(tail_labels), strict=True
        )
    }
    checks.check_equal(
        "distinct training images kept, with their own labels",
        len(kept_keys & train_keys),
        int(ref_counts.sum()),
        hint="Pick 8s without replacement and keep each image with its own label.",
    )
    checks.check_close(
        "rare_share", rare_share, ref_counts[8] / ref_counts.sum(), rtol=1e-6
    )
    checks.check_close(
        "imbalance", imbalance, ref_counts.max() / ref_counts[8], rtol=1e-6
    )


def check_task_2(
    *,
    predicted: Any,
    truth: Any,
    accuracy: Any,
    recall: Any,
    mean_recall: Any,
) -> None:
    """Check Task 2: accuracy, the recall of every digit and their mean, from predictions."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    checks.check_close(
        "accuracy", accuracy, (predicted == truth).sum() / len(truth), rtol=1e-9
    )
    checks.check_shape("recall", np.asarray(recall), (10,))
    checks.check_close(
        "recall",
        recall,
        recall_score(
            truth, predicted, labels=list(range(10)), average=None, zero_division=0
        ),
        atol=1e-9,
        hint="Divide the hits of each digit by the number of test images of that "
        "digit, not by the number of predictions of it.",
    )
    checks.check_close(
        "mean_recall",
        mean_recall,
        balanced_accuracy_score(truth, predicted),
        atol=1e-9,
    )


def check_task_3(
    *, splits: Splits, my_digit: Any, rare_recall: Any, accuracy: Any
) -> None:
    """Check Task 3: three ways to fill the tail of a digit of your choice."""
    checks.check_in_range("my_digit", my_digit, 0, 9)
    if int(my_digit) == 8:
        raise checks.CheckError(
            "my_digit is 8, which the chapter already made rare: choose another digit."
        )
    for name, answer in (("rare_recall", rare_recall), ("accuracy", accuracy)):
        checks.check_equal(
            f"the strategies in {name}", sorted(answer), sorted(STRATEGIES)
        )
    gap = int(splits.train.class_counts()[int(my_digit)]) - 12  # what the tail left out
    for strategy in STRATEGIES:
        want_recall, want_accuracy = augmented_recall(
            splits.train,
            splits.test,
            int(my_digit),
            12,
            strategy,
            gap,
            seed=0,
            epochs=2,
        )
        checks.check_close(
            f"rare_recall[{strategy!r}]",
            rare_recall[strategy],
            want_recall,
            atol=1e-9,
            hint="Long-tailed images first, added images after them; arch='mlp', "
            "epochs=2, seed=0.",
        )
        checks.check_close(
            f"accuracy[{strategy!r}]", accuracy[strategy], want_accuracy, atol=1e-9
        )
