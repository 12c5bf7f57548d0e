"""Reference computations that more than one chapter's key uses."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["as_tensor", "auc", "confusion", "distance_attack_auc", "mean_images"]


def as_tensor(values: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Return ``values`` (array, tensor or sequence) as a CPU tensor of ``dtype``."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().to(dtype)
    return torch.as_tensor(np.asarray(values)).to(dtype)


def confusion(
    truth: torch.Tensor, predicted: torch.Tensor, n_classes: int = 10
) -> torch.Tensor:
    """Confusion matrix (rows: true class, columns: predicted), counted with bincount."""
    counts = torch.bincount(
        truth * n_classes + predicted, minlength=n_classes * n_classes
    )
    return counts.reshape(n_classes, n_classes).to(torch.float64)


def mean_images(images: Any, labels: Any, n_classes: int = 10) -> np.ndarray:
    """Return the mean image of every class, shape ``(n_classes, H, W)``.

    Computed as a one-hot matrix product in float64, not by boolean masks.

    Raises
    ------
    ValueError
        If some class has no image.
    """
    pixels = as_tensor(images)
    onehot = torch.nn.functional.one_hot(as_tensor(labels, torch.int64), n_classes).to(
        torch.float64
    )
    counts = onehot.sum(dim=0)
    if (counts == 0).any():
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"no images of class {missing}")
    sums = onehot.T @ pixels.reshape(len(pixels), -1)
    return (sums / counts[:, None]).reshape(n_classes, *pixels.shape[1:]).numpy()


def auc(member_scores: Any, nonmember_scores: Any) -> float:
    """ROC AUC of membership scores, counted pair by pair (members are the positives).

    The share of (member, non-member) pairs in which the member scores higher,
    ties counting one half: the Mann-Whitney form, from the full comparison
    table in PyTorch (the solutions use :func:`sklearn.metrics.roc_auc_score`).

    Raises
    ------
    ValueError
        If either group is empty.
    """
    pos = as_tensor(member_scores).reshape(-1)
    neg = as_tensor(nonmember_scores).reshape(-1)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("need at least one member score and one non-member score")
    wins = (pos[:, None] > neg[None, :]).to(torch.float64)
    ties = (pos[:, None] == neg[None, :]).to(torch.float64)
    return float((wins + 0.5 * ties).mean())


def distance_attack_auc(members: Any, nonmembers: Any, generated: Any) -> float:
    """AUC of the black-box attack: minus the distance to the nearest generated image.

    Distances are Euclidean between flattened pixels, from :func:`torch.cdist`
    in float64; the AUC is :func:`auc`.
    """
    pool = as_tensor(generated).reshape(len(generated), -1)

    def score(images: Any) -> torch.Tensor:
        flat = as_tensor(images).reshape(len(images), -1)
        return -torch.cdist(flat, pool).min(dim=1).values

    return auc(score(members), score(nonmembers))
