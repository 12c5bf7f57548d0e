"""Answer key of the exercises on *Fix the data, fix the algorithm?*."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.metrics import accuracy_score, recall_score
from torch.func import functional_call

from exercise_keys.common import as_tensor
from synthbook import checks


def _linear_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    """Return the weight matrices of every :class:`torch.nn.Linear` layer, in module order.

    Reads ``weight_orig`` where :mod:`torch.nn.utils.prune` has already
    re-parametrised a layer, so a pruned model gives its unpruned weights.
    """
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not layers:
        raise ValueError("the model has no torch.nn.Linear layer to prune")
    return [getattr(m, "weight_orig", m.weight).detach().cpu() for m in layers]


def _global_magnitude_masks(
    model: torch.nn.Module, amount: float
) -> list[torch.Tensor]:
    """Keep-masks (1 keep, 0 pruned) of global magnitude pruning, one per linear layer.

    The ``round(amount * n)`` weights of smallest absolute value among all
    ``n`` linear weights are pruned, found by one stable sort of the
    concatenated magnitudes (not with :mod:`torch.nn.utils.prune`).
    """
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"amount must be a share in [0, 1), got {amount}")
    weights = _linear_weights(model)
    magnitudes = torch.cat([w.reshape(-1).abs().to(torch.float64) for w in weights])
    keep = torch.ones(len(magnitudes), dtype=torch.float64)
    keep[torch.argsort(magnitudes, stable=True)[: round(amount * len(magnitudes))]] = (
        0.0
    )
    return [
        m.reshape(w.shape)
        for m, w in zip(
            torch.split(keep, [w.numel() for w in weights]), weights, strict=True
        )
    ]


def pruning_sparsity(model: torch.nn.Module, amount: float) -> tuple[float, np.ndarray]:
    """Sparsity reached by global magnitude pruning of a model's linear weights.

    Global (unstructured, L1) magnitude pruning ranks the weights of all
    :class:`torch.nn.Linear` layers together and sets the ``amount`` share with
    the smallest absolute values to zero, as
    ``torch.nn.utils.prune.global_unstructured`` with
    ``prune.L1Unstructured`` does. Here the ranking is one sort of all
    magnitudes; the model is not changed.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model (pruned or not: pruned layers are read through their
        ``weight_orig``).
    amount : float
        Share of all linear weights to prune, in ``[0, 1)``.

    Returns
    -------
    overall : float
        Share of all linear weights that are pruned.
    per_layer : numpy.ndarray of shape (L,)
        Share of each linear layer's weights that are pruned, in module order.

    Raises
    ------
    ValueError
        If ``amount`` is outside ``[0, 1)`` or the model has no linear layer.
    """
    masks = _global_magnitude_masks(model, amount)
    pruned = torch.tensor([float((m == 0).sum()) for m in masks], dtype=torch.float64)
    sizes = torch.tensor([float(m.numel()) for m in masks], dtype=torch.float64)
    return float(pruned.sum() / sizes.sum()), (pruned / sizes).numpy()


def pruned_predictions(
    model: torch.nn.Module, amount: float, images: Any
) -> np.ndarray:
    """Predicted classes after global magnitude pruning of the linear weights.

    Runs the model with every linear weight matrix multiplied by the
    keep-mask of :func:`pruning_sparsity` (through
    :func:`torch.func.functional_call`, not :mod:`torch.nn.utils.prune`) and
    takes the arg-max of the raw logits; ``model`` itself is not changed. A
    layer that :mod:`torch.nn.utils.prune` has already pruned gets the new
    mask in place of its old one, so pruning starts from its unpruned weights.

    Parameters
    ----------
    model : torch.nn.Module
        A trained classifier that maps images to logits.
    amount : float
        Share of all linear weights to prune, in ``[0, 1)``.
    images : array-like
        What the model takes, e.g. ``(N, 28, 28)`` images.

    Returns
    -------
    numpy.ndarray of shape (N,)
    """
    masks = _global_magnitude_masks(model, amount)
    layers = [
        (f"{name}." if name else "", m)
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear)
    ]
    replaced, already_pruned = {}, []
    for (prefix, layer), mask in zip(layers, masks, strict=True):
        if hasattr(layer, "weight_mask"):  # pruned: weight = weight_orig * weight_mask
            replaced[prefix + "weight_mask"] = mask.to(layer.weight_mask.dtype)
            already_pruned.append(layer)
        else:
            replaced[prefix + "weight"] = layer.weight.detach() * mask.to(
                layer.weight.dtype
            )
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = functional_call(
                model, replaced, (as_tensor(images, torch.float32),)
            )
    finally:
        model.train(training)
        for layer in already_pruned:  # the pruning hook set .weight from the new mask
            layer.weight = layer.weight_orig * layer.weight_mask
    return logits.argmax(dim=1).numpy()


def accuracy_and_recalls(
    truth: Any, predicted: Any, n_classes: int = 10
) -> tuple[float, np.ndarray]:
    """Overall accuracy and the recall of every class, from scikit-learn.

    Uses :func:`sklearn.metrics.accuracy_score` and
    :func:`sklearn.metrics.recall_score` (``average=None``; a class with no
    true example gets recall 0), where the solutions count with NumPy masks.

    Parameters
    ----------
    truth, predicted : array-like of shape (N,)
        True and predicted classes, integers ``0`` to ``n_classes - 1``.
    n_classes : int, default 10
        How many classes there are.

    Returns
    -------
    accuracy : float
    recalls : numpy.ndarray of shape (n_classes,)
    """
    y_true = as_tensor(truth, torch.int64).numpy().reshape(-1)
    y_pred = as_tensor(predicted, torch.int64).numpy().reshape(-1)
    recalls = recall_score(
        y_true, y_pred, labels=list(range(n_classes)), average=None, zero_division=0
    )
    return float(accuracy_score(y_true, y_pred)), np.asarray(recalls, dtype=np.float64)


def _linear_layers(model: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]


def _check_unpruned(model: torch.nn.Module) -> None:
    checks.check_equal(
        "the number of zero weights in model (the unpruned original)",
        sum(int((m.weight == 0).sum()) for m in _linear_layers(model)),
        0,
        hint="Prune a copy, deepcopy(model), not model itself. Run the set-up cell "
        "again to get the unpruned model back.",
    )


def check_task_1(
    *,
    model: torch.nn.Module,
    pruned_model: torch.nn.Module,
    layer_sparsity: Any,
    sparsity: Any,
    most_pruned: Any,
) -> None:
    """Check Task 1: global magnitude pruning to 80%, the zeros per layer and overall."""
    _check_unpruned(model)
    want_overall, want_layers = pruning_sparsity(model, 0.8)
    got_layers = [
        float((m.weight == 0).double().mean()) for m in _linear_layers(pruned_model)
    ]
    checks.check_close(
        "the share of zero weights in each layer of pruned_model",
        got_layers,
        want_layers,
        atol=1e-6,
        hint="Prune the weights of all three linear layers together, with "
        "prune.global_unstructured and amount=0.8; pruning each layer on its own "
        "gives 80% in every layer.",
    )
    checks.check_close(
        "layer_sparsity",
        layer_sparsity,
        want_layers,
        atol=1e-6,
        hint="Divide each layer's zero weights by that layer's number of weights "
        "(biases do not count).",
    )
    checks.check_close(
        "sparsity",
        sparsity,
        want_overall,
        atol=1e-6,
        hint="Pool the layers: all zero weights over all weights, not the mean of the "
        "three shares.",
    )
    checks.check_choice(
        "most_pruned",
        most_pruned,
        correct="abc"[int(np.argmax(want_layers))],
        feedback={
            "a": "the first layer has the smallest weights. PyTorch starts every layer's "
            "weights in a range that shrinks with its number of inputs (784 pixels "
            "here), and the weights of pixels that are blank in every training image "
            "are never updated; one global threshold falls hardest on them.",
            "b": "the second layer's weights start in a wider range than the first "
            "layer's (256 inputs, not 784), so fewer of them fall under the one global "
            "threshold.",
            "c": "the output layer has the largest weights (128 inputs each), so a "
            "global threshold takes the smallest share of them.",
            "d": "global pruning ranks all weights together and sets one threshold: each "
            "layer loses the share of its weights that lies below it, which differs "
            "from layer to layer. Only pruning each layer on its own "
            "(prune.l1_unstructured) removes 80% everywhere.",
        },
    )


def check_task_2(
    *,
    truth: Any,
    pred_before: Any,
    pred_after: Any,
    rare: int,
    accuracy_before: Any,
    accuracy_after: Any,
    recall_before: Any,
    recall_after: Any,
    accuracy_change: Any,
    recall_change: Any,
) -> None:
    """Check Task 2: accuracy and the rare digit's recall, before and after heavy pruning."""
    want_acc_before, want_recalls_before = accuracy_and_recalls(truth, pred_before)
    want_acc_after, want_recalls_after = accuracy_and_recalls(truth, pred_after)
    recall_hint = (
        f"The recall of {rare}s counts among the test images that are {rare}s, not "
        f"among the images predicted {rare}."
    )
    for name, value, want in (
        ("accuracy_before", accuracy_before, want_acc_before),
        ("accuracy_after", accuracy_after, want_acc_after),
    ):
        checks.check_probability(name, value)
        checks.check_close(name, value, want, atol=1e-9)
    for name, value, want in (
        ("recall_before", recall_before, want_recalls_before[rare]),
        ("recall_after", recall_after, want_recalls_after[rare]),
    ):
        checks.check_probability(name, value)
        checks.check_close(name, value, want, atol=1e-9, hint=recall_hint)
    points = (
        "After minus before, in percentage points: multiply the difference of the two "
        "shares by 100."
    )
    checks.check_close(
        "accuracy_change",
        accuracy_change,
        100 * (want_acc_after - want_acc_before),
        atol=1e-6,
        hint=points,
    )
    checks.check_close(
        "recall_change",
        recall_change,
        100 * (want_recalls_after[rare] - want_recalls_before[rare]),
        atol=1e-6,
        hint=points,
    )


def check_task_3(
    *,
    model: torch.nn.Module,
    images: torch.Tensor,
    truth: Any,
    rare: int,
    my_sparsity: Any,
    accuracy_change: Any,
    recall_changes: Any,
    worst_digit: Any,
    prediction: Any,
) -> None:
    """Check Task 3: pruning at a level of your choice; accuracy, recalls, the worst digit."""
    checks.check_in_range(
        "my_sparsity",
        my_sparsity,
        0.5,
        0.95,
        hint="A share of the weights, e.g. 0.9 for 90%.",
    )
    _check_unpruned(model)
    want_acc_0, want_recalls_0 = accuracy_and_recalls(
        truth, pruned_predictions(model, 0.0, images)
    )
    want_acc_1, want_recalls_1 = accuracy_and_recalls(
        truth, pruned_predictions(model, float(my_sparsity), images)
    )
    want_acc = 100 * (want_acc_1 - want_acc_0)
    want_recalls = 100 * (want_recalls_1 - want_recalls_0)
    # A tolerance of one test image, for weights of exactly equal size at the threshold.
    checks.check_close(
        "accuracy_change",
        accuracy_change,
        want_acc,
        atol=0.11,
        hint="Prune a copy of model (global_unstructured, L1Unstructured, "
        "amount=my_sparsity); after minus before, in points.",
    )
    checks.check_close(
        "recall_changes",
        recall_changes,
        want_recalls,
        atol=1.01,
        hint="For each digit: the share of its test images labelled correctly, after "
        "minus before, times 100.",
    )
    checks.check_in_range("worst_digit", worst_digit, 0, 9)
    checks.check_close(
        f"the change of recall of worst_digit ({int(worst_digit)})",
        want_recalls[int(worst_digit)],
        want_recalls.min(),
        atol=1e-9,
        hint="The digit with the lowest (most negative) change, "
        "np.argmin(recall_changes).",
    )
    gap = abs(want_recalls[rare]) - abs(want_acc)
    numbers = (
        f"at {float(my_sparsity):.0%} sparsity the recall of {rare}s changed by "
        f"{want_recalls[rare]:+.0f} points and accuracy by {want_acc:+.1f}; "
    )
    key = "a" if gap > 2 else ("b" if gap < -2 else "c")
    checks.check_choice(
        "prediction",
        prediction,
        correct=key,
        feedback={
            "a": numbers + "on a balanced test set accuracy is the mean of the ten "
            "recalls, so a change that falls on one digit shows in it at a tenth of its "
            "size, and changes of other digits in opposite directions cancel out.",
            "b": numbers
            + "accuracy is the mean of the ten digits' recalls here, so it "
            "can move by more than the 8s' recall only if the other digits, on average, "
            "move more than the 8s do.",
            "c": numbers
            + "the two move together only when the 8s change as much as the "
            "average digit does.",
        },
    )
