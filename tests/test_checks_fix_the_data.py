"""The answer key of the exercises on "Fix the data, fix the algorithm?"."""

from __future__ import annotations

from copy import deepcopy

import numpy as np
import pytest
import torch
from torch.nn.utils import prune

from exercise_keys import fix_the_data as key


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(16, 12),
        torch.nn.ReLU(),
        torch.nn.Linear(12, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    )


def _linears(model: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]


def _torch_pruned(model: torch.nn.Module, amount: float) -> torch.nn.Module:
    copy = deepcopy(model)
    prune.global_unstructured(
        [(m, "weight") for m in _linears(copy)],
        pruning_method=prune.L1Unstructured,
        amount=amount,
    )
    return copy


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.8, 0.95])
def test_pruning_sparsity_matches_torch_prune(amount: float) -> None:
    model = _net()
    overall, per_layer = key.pruning_sparsity(model, amount)
    pruned = _torch_pruned(model, amount)
    zeros = np.array([int((m.weight == 0).sum()) for m in _linears(pruned)])
    sizes = np.array([m.weight.numel() for m in _linears(pruned)])
    np.testing.assert_allclose(per_layer, zeros / sizes, atol=1e-12)
    assert overall == pytest.approx(zeros.sum() / sizes.sum())
    assert overall == pytest.approx(round(amount * sizes.sum()) / sizes.sum())
    # The model is left as it was, and a pruned model is read through its original weights.
    assert not any(hasattr(m, "weight_orig") for m in _linears(model))
    again, again_layers = key.pruning_sparsity(pruned, amount)
    assert again == overall
    np.testing.assert_array_equal(again_layers, per_layer)


def test_global_pruning_falls_hardest_on_the_smallest_layer_weights() -> None:
    model = _net()
    with torch.no_grad():
        _linears(model)[0].weight.mul_(
            0.01
        )  # the first layer holds most of the small weights
    _, per_layer = key.pruning_sparsity(model, 0.5)
    assert per_layer[0] > 0.75
    assert per_layer[1:].max() < 0.1


@pytest.mark.parametrize("amount", [0.0, 0.5, 0.9])
def test_pruned_predictions_match_torch_prune(amount: float) -> None:
    model = _net(1)
    images = torch.rand(200, 4, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = _torch_pruned(model, amount)(images).argmax(dim=1).numpy()
    got = key.pruned_predictions(model, amount, images)
    np.testing.assert_array_equal(got, want)
    # An already pruned model is pruned again from its original weights, and left as it was.
    before = _torch_pruned(model, 0.7)
    zeros = [int((m.weight == 0).sum()) for m in _linears(before)]
    np.testing.assert_array_equal(key.pruned_predictions(before, amount, images), want)
    assert [int((m.weight == 0).sum()) for m in _linears(before)] == zeros
    assert before.training
    with torch.no_grad():
        unchanged = model(images).argmax(dim=1).numpy()
    np.testing.assert_array_equal(key.pruned_predictions(model, 0.0, images), unchanged)


def test_pruning_rejects_bad_amounts_and_models() -> None:
    with pytest.raises(ValueError, match="amount"):
        key.pruning_sparsity(_net(), 1.0)
    with pytest.raises(ValueError, match="amount"):
        key.pruned_predictions(_net(), -0.1, torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="no torch.nn.Linear"):
        key.pruning_sparsity(torch.nn.Sequential(torch.nn.ReLU()), 0.5)


def test_accuracy_and_recalls_agree_with_plain_numpy() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, size=300)
    predicted = np.where(rng.random(300) < 0.7, truth, rng.integers(0, 4, size=300))
    accuracy, recalls = key.accuracy_and_recalls(
        truth, torch.as_tensor(predicted), n_classes=5
    )
    assert accuracy == pytest.approx((predicted == truth).mean())
    want = [(predicted[truth == d] == d).mean() for d in range(4)]
    np.testing.assert_allclose(recalls, [*want, 0.0])  # class 4 never occurs
    # On a balanced set, accuracy is the mean of the recalls.
    balanced = np.repeat(np.arange(4), 25)
    guess = np.roll(balanced, 7)
    accuracy, recalls = key.accuracy_and_recalls(balanced, guess, n_classes=4)
    assert accuracy == pytest.approx(recalls.mean())
