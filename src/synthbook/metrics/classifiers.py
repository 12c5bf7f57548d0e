"""Digit classifiers: one at a time, or many at once as one batched model.

- :func:`train_classifier`: a small, seeded digit classifier (CNN or MLP) used
  as the *judge*, for GAN-train, and by later chapters on augmented data.
- :func:`train_classifiers`: many such classifiers trained together, each on
  its own data with its own batch order, batch size, epochs and optimiser
  state, as :func:`train_classifier` would train each one alone.
- :func:`load_or_train_judge`: the judge, trained on the real ``judge`` split
  that no generator sees, and cached.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap

from synthbook import validate
from synthbook.cache import cache_dir, load_or_none, make_key, save_checked
from synthbook.data import MnistData
from synthbook.validate import check_count, check_number
from synthbook.versions import code_version

CLASSIFIER_ARCHES = ("cnn", "mlp")
#: Augmentation of the judge's training digits (pixels of random shift).
JUDGE_MAX_SHIFT = 2


class Classifier(nn.Module):
    """A small digit classifier with a feature layer for distances."""

    def __init__(self, arch: str = "cnn", width: int = 128) -> None:
        super().__init__()
        if arch not in CLASSIFIER_ARCHES:
            raise ValueError(
                f"unknown classifier arch {arch!r}: use one of {CLASSIFIER_ARCHES}"
            )
        self.arch = arch
        self.width = width
        if arch == "cnn":
            self.body = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(32 * 7 * 7, width),
                nn.ReLU(),
            )
        else:
            self.body = nn.Sequential(
                nn.Flatten(),
                nn.Linear(784, 2 * width),
                nn.ReLU(),
                nn.Linear(2 * width, width),
                nn.ReLU(),
            )
        self.head = nn.Linear(width, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Return class logits for ``(N, 28, 28)`` images in ``[0, 1]``."""
        return self.head(self.body(images.view(-1, 1, 28, 28)))

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch: int = 250) -> np.ndarray:
        """Penultimate-layer activations, ``(N, width)``."""
        self.eval()
        parts = [
            self.body(images[i : i + batch].view(-1, 1, 28, 28))
            for i in range(0, len(images), batch)
        ]
        return (
            torch.cat(parts).numpy().astype(np.float64)
            if parts
            else np.zeros((0, self.width))
        )

    @torch.no_grad()
    def predict_proba(self, images: torch.Tensor, batch: int = 250) -> np.ndarray:
        """Class probabilities, ``(N, 10)``."""
        self.eval()
        parts = [
            F.softmax(self(images[i : i + batch]), dim=1)
            for i in range(0, len(images), batch)
        ]
        return torch.cat(parts).numpy() if parts else np.zeros((0, 10))

    def predict(self, images: torch.Tensor) -> np.ndarray:
        """Predicted digits, ``(N,)``."""
        return self.predict_proba(images).argmax(axis=1)


def _shift_batch(x: torch.Tensor, max_shift: int, rng: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero fill), seeded."""
    padded = F.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (len(x), 2), generator=rng)
    return torch.stack(
        [padded[i, r : r + 28, c : c + 28] for i, (r, c) in enumerate(offsets.tolist())]
    )


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    arch: str = "cnn",
    epochs: int = 8,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 2e-3,
    width: int = 128,
    max_shift: int = 0,
) -> Classifier:
    """Train a digit classifier with Adam; seeded and deterministic on a CPU.

    General enough for every chapter: pass any mix of real and synthetic
    digits. The result has ``predict``, ``predict_proba`` and ``features``.

    Parameters
    ----------
    images : torch.Tensor
        ``(N, 28, 28)`` in ``[0, 1]``.
    labels : torch.Tensor
        ``(N,)`` digits.
    arch : {"cnn", "mlp"}
        A two-layer CNN (better) or an MLP (about twice as fast).
    epochs : int, default 8
        Passes over the data.
    seed : int, default 0
        Seeds the weights, the batch order and the augmentation.
    batch_size, lr, width : int, float, int
        Mini-batch size, Adam learning rate, feature width.
    max_shift : int, default 0
        Randomly translate training images by up to this many pixels (data
        augmentation; 0 turns it off).

    Returns
    -------
    Classifier
        In eval mode.
    """
    if len(images) != len(labels):
        raise ValueError(
            f"{len(images)} images but {len(labels)} labels: give one label per image"
        )
    if len(images) == 0:
        raise ValueError("cannot train a classifier on no images")
    validate.check_finite("images", images)
    epochs = validate.check_count("epochs", epochs, minimum=1)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    y = torch.as_tensor(
        np.asarray(labels) if not torch.is_tensor(labels) else labels
    ).long()
    if int(y.min()) < 0 or int(y.max()) > 9:
        raise ValueError("labels must be digits 0 to 9")
    torch.manual_seed(seed)
    model = Classifier(arch, width)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(images).reshape(-1, 28, 28).float()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=rng)
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            batch = _shift_batch(x[idx], max_shift, rng) if max_shift else x[idx]
            loss = F.cross_entropy(model(batch), y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    model.eval()
    return model


def _per_model(name: str, value: int | Sequence[int], count: int) -> list[int]:
    values = [value] * count if isinstance(value, int | np.integer) else list(value)
    if len(values) != count:
        raise ValueError(
            f"{name} must be one value or one per model ({count}), got {len(values)}"
        )
    return values


def _batch_plan(
    size: int, epochs: int, batch_size: int, seed: int
) -> list[torch.Tensor]:
    """Return the batches :func:`train_classifier` draws: one shuffle per epoch."""
    rng = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(epochs):
        order = torch.randperm(size, generator=rng)
        batches += [order[s : s + batch_size] for s in range(0, size, batch_size)]
    return batches


def train_classifiers(
    images: torch.Tensor,
    labels: torch.Tensor,
    members: Sequence[torch.Tensor | np.ndarray | Sequence[int]],
    *,
    arch: str = "mlp",
    epochs: int | Sequence[int] = 8,
    seeds: int | Sequence[int] = 0,
    batch_sizes: int | Sequence[int] = 64,
    lr: float = 2e-3,
    width: int = 128,
) -> list[Classifier]:
    """Train one classifier per training set, all at once, as one batched model.

    Model ``m`` learns from ``images[members[m]]`` (in that order) as
    :func:`train_classifier` would train it alone: the same initial weights,
    batch order, batch size, number of epochs and Adam updates. Only the
    arithmetic is shared: the models' weights are stacked
    (``torch.func.stack_module_state``) and one vectorised call
    (``vmap`` over ``functional_call``) computes every model's gradient for
    its own batch. A model whose training set is shorter simply stops early.
    Results agree with :func:`train_classifier` up to float rounding (a
    batched matrix product adds in a different order); ``tests/test_metrics.py``
    states the tolerance.

    Parameters
    ----------
    images, labels : torch.Tensor
        A shared pool of ``(P, 28, 28)`` images in ``[0, 1]`` and their digits.
    members : sequence of index arrays
        One per model: which pool images form its training set, in order.
    arch : {"cnn", "mlp"}, default "mlp"
        As in :func:`train_classifier`. Batching pays off for the MLP; the
        CNN's grouped convolutions are no faster than training one by one.
    epochs, seeds, batch_sizes : int or sequence of int
        One value for every model, or one per model.
    lr, width : float, int
        Adam learning rate and feature width, shared.

    Returns
    -------
    list of Classifier
        One per member list, in eval mode.
    """
    count = len(members)
    if count == 0:
        raise ValueError("members must list at least one training set")
    labels = torch.as_tensor(labels).long()
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise ValueError("labels must be digits 0 to 9")
    check_number("lr", lr, minimum=0.0, inclusive=(False, True))
    sets = [torch.as_tensor(np.asarray(m), dtype=torch.long) for m in members]
    for i, chosen in enumerate(sets):
        if chosen.ndim != 1 or len(chosen) == 0:
            raise ValueError(f"members[{i}] must be a non-empty list of indices")
        if int(chosen.min()) < 0 or int(chosen.max()) >= len(images):
            raise ValueError(f"members[{i}] holds indices outside 0..{len(images) - 1}")
    epoch_list = [
        check_count("epochs", e, minimum=1) for e in _per_model("epochs", epochs, count)
    ]
    seed_list = [check_count("seeds", s) for s in _per_model("seeds", seeds, count)]
    sizes = [
        check_count("batch_sizes", b, minimum=1)
        for b in _per_model("batch_sizes", batch_sizes, count)
    ]
    plans = [
        [chosen[b] for b in _batch_plan(len(chosen), e, size, s)]
        for chosen, e, size, s in zip(sets, epoch_list, sizes, seed_list, strict=True)
    ]
    steps, width_b = max(map(len, plans)), max(sizes)
    index = torch.zeros(count, steps, width_b, dtype=torch.long)
    weight = torch.zeros(count, steps, width_b)
    for m, plan in enumerate(plans):
        for t, batch in enumerate(plan):
            index[m, t, : len(batch)] = batch
            weight[m, t, : len(batch)] = 1.0
    finished = torch.tensor([len(plan) for plan in plans])
    with torch.random.fork_rng(devices=[]):
        models = []
        for s in seed_list:
            torch.manual_seed(s)
            models.append(Classifier(arch, width))
    params, buffers = stack_module_state(models)
    params = {k: v.detach() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def loss(p, b, x, y, w):
        logits = functional_call(base, (p, b), (x,))
        per_image = F.cross_entropy(logits, y, reduction="none")
        return (per_image * w).sum() / w.sum().clamp_min(1.0)

    gradients = vmap(grad(loss))
    optimiser = torch.optim.Adam(params.values(), lr=lr)
    x_pool = torch.as_tensor(images).reshape(-1, 28, 28).float()
    for t in range(steps):
        batch = index[:, t]
        for k, g in gradients(
            params, buffers, x_pool[batch], labels[batch], weight[:, t]
        ).items():
            params[k].grad = g
        _masked_step(optimiser, params, finished > t)
    for m, model in enumerate(models):
        model.load_state_dict({k: v[m] for k, v in params.items()})
        model.eval()
    return models


def _masked_step(
    optimiser: torch.optim.Optimizer,
    params: dict[str, torch.Tensor],
    active: torch.Tensor,
) -> None:
    """Take an Adam step for the models still training; leave the others as they are.

    Adam updates each number from its own gradient and state, so one step on
    stacked weights is every model's own step. Finished models keep their
    weights and optimiser state (they never train again).
    """
    if bool(active.all()):
        optimiser.step()
        return
    done = ~active
    kept = {
        k: (p[done].clone(), [optimiser.state[p][s][done].clone() for s in _MOMENTS])
        for k, p in params.items()
        if p in optimiser.state
    }
    optimiser.step()
    with torch.no_grad():
        for k, (weights, moments) in kept.items():
            p = params[k]
            p[done] = weights
            for s, saved in zip(_MOMENTS, moments, strict=True):
                optimiser.state[p][s][done] = saved


_MOMENTS = ("exp_avg", "exp_avg_sq")


def accuracy(model: Classifier, data: MnistData) -> float:
    """Share of ``data`` the model labels correctly."""
    return float((model.predict(data.images) == data.labels.numpy()).mean())


def load_or_train_classifier(
    data: MnistData, *, seed: int = 0, folder: str = "classifiers", **settings: Any
) -> Classifier:
    """Train :func:`train_classifier` on ``data``, or read the result from the cache.

    The key covers the data's fingerprint, the seed, the settings, torch's
    thread count and this module's code. A damaged entry is rebuilt.

    Parameters
    ----------
    data : MnistData
        Training images and labels.
    seed : int, default 0
    folder : str, default "classifiers"
        Sub-folder of the cache.
    **settings
        Passed on to :func:`train_classifier` (``epochs``, ``arch``, ...).
    """
    key = make_key(
        data=data.fingerprint(),
        seed=seed,
        settings=settings,
        threads=torch.get_num_threads(),
        code=code_version(Classifier, train_classifier, _shift_batch),
    )
    path = cache_dir(folder) / f"classifier-{key}.pt"
    state = load_or_none(path)
    if state is not None:
        model = Classifier(settings.get("arch", "cnn"), settings.get("width", 128))
        model.load_state_dict(state)
        return model.eval()
    model = train_classifier(data.images, data.labels, seed=seed, **settings)
    save_checked(path, model.state_dict())
    return model


def load_or_train_judge(
    judge_data: MnistData, *, seed: int = 0, epochs: int = 15
) -> Classifier:
    """Return the judge classifier for this data, from the cache if it is there.

    The judge is trained only on ``judge_data`` (the book's judge split), which
    no generator ever sees, so it cannot reward a generator for memorising.
    Small random shifts of its training digits make it a fairer judge of
    digits that are not centred exactly as MNIST's are.
    """
    return load_or_train_classifier(
        judge_data, seed=seed, folder="judge", epochs=epochs, max_shift=JUDGE_MAX_SHIFT
    )
