"""Fix the data, fix the algorithm? The same data, different model designs.

The chapter "Fix the data, fix the algorithm?" holds the training data fixed,
seed by seed, and changes only the model: its width, how long it trains, and
how much of it is pruned away afterwards. It does this on a long tail (the
digit 8 made rare) and on the same tail "fixed" with synthetic 8s.

- :func:`two_datasets`: the long tail and its synthetic fix for one seed.
- :func:`train_designs`: every design for one data set and seed. All widths
  train together as one block-diagonal network (one pass over the batches
  instead of one per width), and the shorter trainings are the reference
  model's own snapshots after 1, 2 and 4 epochs, so nothing is trained twice.
  Each model equals, up to floating-point rounding, what
  :func:`synthbook.metrics.train_classifier` gives for the same settings.
- :func:`pruned`: global magnitude pruning with ``torch.nn.utils.prune``.
- :func:`run_experiment` scores every design on every seed;
  :func:`per_seed`, :func:`paired`, :func:`pruning_cost` and the ``*_reading``
  functions summarise the rows with the book's rule for "better" (a paired 95%
  interval that excludes no effect).
- :func:`plot_tradeoff`: overall accuracy against recall of the rare digit.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch.nn.utils import prune

from synthbook import metrics, stats, tails
from synthbook.data import MnistData, Splits
from synthbook.plotting import OKABE_ITO, label_provenance
from synthbook.validate import check_count, check_number

__all__ = [
    "DATA",
    "DESIGNS",
    "PROVENANCE",
    "REFERENCE",
    "cost_reading",
    "difference_reading",
    "fix_table",
    "label",
    "paired",
    "per_seed",
    "plot_tradeoff",
    "pruned",
    "pruning_cost",
    "pruning_table",
    "results_table",
    "run_experiment",
    "score",
    "spread",
    "spread_table",
    "train_designs",
    "train_widths",
    "two_datasets",
    "zero_share",
]

#: The two training sets, in the order the chapter shows them.
DATA = ("long tail", "rebalanced")
#: What each data set holds: real digits, or real plus synthetic rare digits.
PROVENANCE = {"long tail": "real", "rebalanced": "mixed"}
#: Each design choice and the settings it takes; one is varied at a time.
DESIGNS: dict[str, tuple[Any, ...]] = {
    "width": (16, 32, 64, 128, 256),
    "epochs": (1, 2, 4, 8),
    "sparsity": (0.0, 0.5, 0.8, 0.9, 0.95),
}
#: The reference design, which all three choices share.
REFERENCE: dict[str, Any] = {"width": 128, "epochs": 8, "sparsity": 0.0}


def two_datasets(
    train: MnistData, rare: int, keep: int, add: int, *, seed: int
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Return the long tail and its synthetic fix: ``{name: (images, labels)}``.

    The long tail keeps every training image except the ``rare`` digit's, of
    which ``keep`` remain (seeded); the rebalanced set adds ``add`` synthetic
    images of it, distortions of those few (the ``perturb`` strategy of the
    chapter on variability).
    """
    add = check_count("add", add, minimum=0)
    tail = tails.make_long_tail(train, rare, keep, seed=seed)
    real = tail.images[tail.labels == rare]
    extra = tails.perturb(real, add, seed=seed)
    extra_labels = torch.full((add,), rare, dtype=tail.labels.dtype)
    return {
        "long tail": (tail.images, tail.labels),
        "rebalanced": (
            torch.cat([tail.images, extra]),
            torch.cat([tail.labels, extra_labels]),
        ),
    }


def _layers(model: metrics.Classifier) -> tuple[torch.nn.Linear, ...]:
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if model.arch != "mlp" or len(linear) != 3:
        raise ValueError("train_designs trains the book's MLP (arch='mlp') only")
    return tuple(linear)


def _joint_logits(models: list[metrics.Classifier], x: torch.Tensor) -> torch.Tensor:
    """All models' logits at once, ``(B, len(models), 10)``.

    The first layers, which read the same pixels, run as one wide layer; the
    rest run model by model.
    """
    layers = [_layers(m) for m in models]
    first = torch.cat([ls[0].weight for ls in layers])
    hidden = F.relu(x.flatten(1) @ first.T + torch.cat([ls[0].bias for ls in layers]))
    logits, start = [], 0
    for ls in layers:
        h = hidden[:, start : start + ls[0].out_features]
        start += ls[0].out_features
        logits.append(ls[2](F.relu(ls[1](h))))
    return torch.stack(logits, dim=1)


def train_widths(
    images: torch.Tensor,
    labels: torch.Tensor,
    widths: Sequence[int],
    *,
    epochs: int,
    seed: int,
    snapshot_width: int | None = None,
    snapshot_epochs: Sequence[int] = (),
    batch_size: int = 64,
    lr: float = 2e-3,
) -> tuple[dict[int, metrics.Classifier], dict[int, metrics.Classifier]]:
    """Train one MLP per width on the same batches, as one block-diagonal network.

    Every model starts as ``metrics.Classifier("mlp", width)`` after
    ``torch.manual_seed(seed)`` and sees the batches that
    ``metrics.train_classifier`` would draw with ``seed``; its loss, and so its
    gradients and Adam updates, are its own. The result is the models that
    ``train_classifier(..., arch="mlp", width=w, epochs=epochs, seed=seed)``
    trains one by one, in one pass.

    Returns
    -------
    (dict, dict)
        Width -> trained model; and epoch -> a copy of the ``snapshot_width``
        model after that many epochs (for each of ``snapshot_epochs``).
    """
    epochs = check_count("epochs", epochs, minimum=1)
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError("give one label per image, and at least one image")
    models = []
    for width in widths:
        torch.manual_seed(seed)
        models.append(metrics.Classifier("mlp", check_count("width", width, minimum=1)))
    params = [p for m in models for p in m.parameters()]
    optimiser = torch.optim.Adam(params, lr=lr)
    rng = torch.Generator().manual_seed(seed)
    x, y = images.reshape(-1, 28, 28).float(), labels.long()
    snapshots = {}
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x), generator=rng)
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            logits = _joint_logits(models, x[idx])
            loss = sum(
                F.cross_entropy(logits[:, i], y[idx]) for i in range(len(models))
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        if epoch in snapshot_epochs and snapshot_width in widths:
            snapshot = copy.deepcopy(models[list(widths).index(snapshot_width)])
            snapshots[epoch] = snapshot.eval()
    return {w: m.eval() for w, m in zip(widths, models, strict=True)}, snapshots


def pruned(model: torch.nn.Module, sparsity: float) -> torch.nn.Module:
    """Return a copy of ``model`` with its smallest ``sparsity`` share of weights zeroed.

    Global magnitude pruning (``prune.global_unstructured`` with
    ``L1Unstructured``) over the weights, not the biases, of every linear layer;
    the model is not trained again afterwards.
    """
    sparsity = check_number("sparsity", sparsity, minimum=0.0, maximum=1.0)
    if sparsity == 1.0:
        raise ValueError(
            "sparsity must be below 1: pruning every weight leaves no model"
        )
    model = copy.deepcopy(model)
    layers = [(m, "weight") for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if sparsity > 0:
        prune.global_unstructured(
            layers, pruning_method=prune.L1Unstructured, amount=sparsity
        )
    return model


def zero_share(model: torch.nn.Module) -> float:
    """Share of the weights of all linear layers that are exactly zero."""
    weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return float(
        sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    )


def train_designs(
    images: torch.Tensor, labels: torch.Tensor, *, seed: int
) -> dict[tuple[str, Any], torch.nn.Module]:
    """Every design of :data:`DESIGNS` for one data set and seed.

    Returns ``{(choice, setting): model}``; the reference design appears once
    per choice, as the same model.
    """
    widths, snapshots = train_widths(
        images,
        labels,
        DESIGNS["width"],
        epochs=REFERENCE["epochs"],
        seed=seed,
        snapshot_width=REFERENCE["width"],
        snapshot_epochs=DESIGNS["epochs"],
    )
    models: dict[tuple[str, Any], torch.nn.Module] = {}
    for width, model in widths.items():
        models["width", width] = model
    for epochs in DESIGNS["epochs"]:
        models["epochs", epochs] = snapshots[epochs]
    reference = widths[REFERENCE["width"]]
    for sparsity in DESIGNS["sparsity"]:
        models["sparsity", sparsity] = pruned(reference, sparsity)
    return models


def score(model: metrics.Classifier, test: MnistData, rare: int) -> dict[str, float]:
    """Overall accuracy and recall of the ``rare`` digit on ``test``."""
    predicted = model.predict(test.images)
    truth = test.labels.numpy()
    return {
        "accuracy": float((predicted == truth).mean()),
        "rare_recall": float((predicted[truth == rare] == rare).mean()),
    }


def run_experiment(
    splits: Splits, *, rare: int, keep: int, add: int, seeds: Sequence[int]
) -> list[dict[str, Any]]:
    """Train and score every design on both data sets for every seed.

    Each seed draws its own kept images and synthetic ones; every design of one
    seed trains on exactly the same data. One row per seed, data set and design.
    """
    rows = []
    for seed in seeds:
        datasets = two_datasets(splits.train, rare, keep, add, seed=seed)
        for data, (images, labels) in datasets.items():
            for (choice, setting), model in train_designs(
                images, labels, seed=seed
            ).items():
                condition = {"seed": seed, "data": data, "choice": choice}
                result = score(model, splits.test, rare)
                rows.append(condition | {"setting": setting} | result)
    return rows


# --------------------------------------------------------------------------
# Summaries: per seed, paired, and in words
# --------------------------------------------------------------------------


def per_seed(
    rows: list[dict[str, Any]], data: str, choice: str, setting: Any, metric: str
) -> np.ndarray:
    """One value per seed, in seed order, for one data set and design."""
    chosen = [
        r
        for r in rows
        if (r["data"], r["choice"], r["setting"]) == (data, choice, setting)
    ]
    if not chosen:
        raise ValueError(f"no rows for {data!r}, {choice!r} = {setting!r}")
    return np.array([r[metric] for r in sorted(chosen, key=lambda r: r["seed"])])


def paired(
    rows: list[dict[str, Any]],
    first: tuple[str, str, Any],
    second: tuple[str, str, Any],
    metric: str = "rare_recall",
) -> tuple[float, float, float]:
    """Mean and 95% interval of ``first - second``, seed by seed, in points."""
    a, b = per_seed(rows, *first, metric), per_seed(rows, *second, metric)
    return stats.mean_interval(100 * (a - b))


def pruning_cost(
    rows: list[dict[str, Any]], data: str, sparsity: float, metric: str
) -> np.ndarray:
    """Per-seed loss of the pruned model against the unpruned one, in points."""
    before = per_seed(rows, data, "sparsity", 0.0, metric)
    after = per_seed(rows, data, "sparsity", sparsity, metric)
    return 100 * (before - after)


def difference_reading(difference: tuple[float, float, float]) -> str:
    """'above', 'below' or 'not distinguishable from', by the interval."""
    if difference[1] > 0:
        return "above"
    if difference[2] < 0:
        return "below"
    return "not distinguishable from"


def cost_reading(gap: tuple[float, float, float]) -> str:
    """Read the interval of (rare-digit cost minus accuracy cost) of a pruning."""
    if gap[1] > 0:
        return "rare digit paid more"
    if gap[2] < 0:
        return "accuracy paid more"
    return "not distinguishable"


def label(choice: str, setting: Any) -> str:
    """Name a design in words: 'width 16', '2 epochs', '90% pruned'."""
    if choice == "width":
        return f"width {setting}"
    if choice == "epochs":
        return f"{setting} epoch{'s' * (setting != 1)}"
    if choice == "sparsity":
        return f"{setting:.0%} pruned"
    raise ValueError(f"unknown design choice {choice!r}: use one of {list(DESIGNS)}")


# --------------------------------------------------------------------------
# Tables (Markdown, for the chapter to display)
# --------------------------------------------------------------------------


def _markdown(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


def _interval(values: tuple[float, float, float], digits: int = 1) -> str:
    mean, low, high = (round(v, digits) + 0.0 for v in values)  # no "-0.0"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _designs() -> list[tuple[str, Any]]:
    return [(choice, s) for choice, settings in DESIGNS.items() for s in settings]


def results_table(rows: list[dict[str, Any]], rare: int) -> str:
    """Mean and 95% interval over seeds of accuracy and rare recall, every design."""
    header = ["design"] + [
        f"{name}, {data}" for data in DATA for name in ("accuracy", f"{rare}-recall")
    ]
    body = [
        [label(*design)]
        + [
            _interval(stats.mean_interval(per_seed(rows, data, *design, metric)), 3)
            for data in DATA
            for metric in ("accuracy", "rare_recall")
        ]
        for design in _designs()
    ]
    return _markdown(header, body)


def spread(rows: list[dict[str, Any]], data: str, choice: str, metric: str) -> float:
    """How far a design choice moved a metric's mean over its settings, in points."""
    means = [per_seed(rows, data, choice, s, metric).mean() for s in DESIGNS[choice]]
    return 100 * float(max(means) - min(means))


def spread_table(rows: list[dict[str, Any]], rare: int) -> str:
    """Range of the means over each choice's settings, in points, per data set."""
    header = ["design choice"] + [
        f"{name}, {data}" for data in DATA for name in ("accuracy", f"{rare}-recall")
    ]
    body = [
        [choice]
        + [
            f"{spread(rows, data, choice, metric):.0f}"
            for data in DATA
            for metric in ("accuracy", "rare_recall")
        ]
        for choice in DESIGNS
    ]
    return _markdown(header, body)


def _share_lost(cost: np.ndarray, before: np.ndarray) -> str:
    """Mean cost as a share of the mean before pruning ("n/a" if that was zero)."""
    base = 100 * before.mean()
    if not base > 0:
        return "n/a"
    share = round(float(cost.mean() / base), 2) + 0.0  # no "-0%"
    return f"{share:.0%}"


def pruning_table(rows: list[dict[str, Any]], rare: int) -> str:
    """Tabulate what each pruning level cost, seed by seed: points, and shares lost."""
    header = ["data", "pruned", "accuracy cost", f"{rare}-recall cost", "reading"]
    header += ["share of accuracy lost", f"share of {rare}-recall lost"]
    body = []
    for data in DATA:
        for sparsity in DESIGNS["sparsity"][1:]:
            acc = pruning_cost(rows, data, sparsity, "accuracy")
            rec = pruning_cost(rows, data, sparsity, "rare_recall")
            shares = [
                _share_lost(cost, per_seed(rows, data, "sparsity", 0.0, m))
                for cost, m in ((acc, "accuracy"), (rec, "rare_recall"))
            ]
            body.append(
                [data, f"{sparsity:.0%}", _interval(stats.mean_interval(acc))]
                + [_interval(stats.mean_interval(rec))]
                + [cost_reading(stats.mean_interval(rec - acc))]
                + shares
            )
    return _markdown(header, body)


def fix_table(rows: list[dict[str, Any]], rare: int) -> str:
    """Each design on the fixed data against the unfixed reference model, rare recall."""
    unfixed = ("long tail", "sparsity", 0.0)
    header = ["design, rebalanced data", f"{rare}-recall", "change (points)", "reading"]
    body = []
    for design in _designs():
        difference = paired(rows, ("rebalanced", *design), unfixed)
        recall = per_seed(rows, "rebalanced", *design, "rare_recall").mean()
        reading = difference_reading(difference) + " the unfixed reference"
        body.append(
            [label(*design), f"{recall:.2f}", _interval(difference, 0), reading]
        )
    return _markdown(header, body)


# --------------------------------------------------------------------------
# The figure
# --------------------------------------------------------------------------

_STYLE = {
    "width": (OKABE_ITO[0], "o", "w{}"),
    "epochs": (OKABE_ITO[4], "s", "{}ep"),
    "sparsity": (OKABE_ITO[5], "^", "{:.0%}"),
}


def _panel(ax: Axes, rows: list[dict[str, Any]], data: str, choice: str) -> None:
    colour, marker, short = _STYLE[choice]
    settings = DESIGNS[choice]

    def points(metric: str) -> np.ndarray:
        return np.array(
            [
                stats.mean_interval(per_seed(rows, data, choice, s, metric))
                for s in settings
            ]
        )

    x, y = points("accuracy"), points("rare_recall")
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="0.6")
    ax.errorbar(
        x[:, 0],
        y[:, 0],
        xerr=np.abs(x[:, 1:].T - x[:, 0]),
        yerr=np.abs(y[:, 1:].T - y[:, 0]),
        fmt=marker + "-",
        color=colour,
        ms=6,
        lw=1.3,
        elinewidth=0.7,
        capsize=2,
    )
    ref = settings.index(REFERENCE[choice])
    ax.plot(x[ref, 0], y[ref, 0], marker="*", ms=12, color="black", ls="none", zorder=5)
    labelled = [np.array([x[ref, 0], y[ref, 0]])]  # label only uncrowded points
    for setting, xi, yi in zip(settings, x[:, 0], y[:, 0], strict=True):
        if min(np.hypot(*(p - (xi, yi))) for p in labelled) > 0.04:
            ax.annotate(
                short.format(setting),
                (xi, yi),
                xytext=(6, -3),
                fontsize=8,
                textcoords="offset points",
                bbox={"fc": "white", "ec": "none", "pad": 0.5},
            )
            labelled.append(np.array([xi, yi]))
    ax.set(xlim=(0.45, 1.0), ylim=(-0.03, 1.0))
    ax.set_title(choice, fontsize=10, loc="left")


def plot_tradeoff(rows: list[dict[str, Any]], rare: int) -> Figure:
    """Overall accuracy against recall of the rare digit: data sets by design choices.

    Each panel is one design choice on one data set, a line through its
    settings (means over seeds, 95% intervals both ways); the black star is the
    shared reference design; below the dashed diagonal the rare digit does worse
    than the average digit. Rows are tagged with their data (:data:`PROVENANCE`).
    """
    fig, axes = plt.subplots(2, 3, figsize=(9, 6), sharex=True, sharey=True)
    for row, data in zip(axes, DATA, strict=True):
        for ax, choice in zip(row, DESIGNS, strict=True):
            _panel(ax, rows, data, choice)
        label_provenance(row[-1], PROVENANCE[data])
        row[0].set_ylabel(f"{data} data\nrecall of the rare digit {rare}")
    for ax in axes[1]:
        ax.set_xlabel("overall accuracy")
    fig.tight_layout()
    return fig
