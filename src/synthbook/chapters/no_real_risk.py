"""Generated diversity as de-risking: the experiment of ``book/no_real_risk.md``.

Jacobsen's first mechanism of synthetic data as a technology of risk is
"exposure to variability as a mode of de-risking": a vendor offers "any
variance you need" so that a model trained on it is less biased. The miniature
gives handwriting a *characteristic* that cuts across every digit, a strong
rightward slant, leaves most of the writers who have it out of the training
data, and measures the accuracy gap between them and everyone else. Then it
fills the gap five ways, each adding the same number of images:

none
    the skewed training set alone;
oversample
    repeat the few right-leaning training digits that were kept;
shear
    the vendor's parameter: shear upright training digits until they lean as
    far as the kept right-leaning ones do;
generator
    ask the book's GAN for digits of every class and keep the most slanted;
real
    put the withheld right-leaning writers' own digits back.

Every condition is scored on the real test split, per group, over several
seeds. The group is defined once, by thresholds of the slant measure computed
on the real training split, and applied to every image, real or generated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from synthbook import gan, metrics, stats, tails
from synthbook.cache import cache_dir, load_or_none, make_key, save_checked
from synthbook.data import MnistData
from synthbook.plotting import OKABE_ITO
from synthbook.validate import check_count, check_number, check_seed
from synthbook.versions import code_version

#: The ways to fill the gap, in the order the chapter shows them.
STRATEGIES: tuple[str, ...] = ("none", "oversample", "shear", "generator", "real")
#: What each strategy adds, for tables and captions.
DESCRIPTIONS: dict[str, str] = {
    "none": "nothing added",
    "oversample": "the kept right-leaning digits, repeated",
    "shear": "upright digits sheared to lean right (a parameter)",
    "generator": "the GAN's most slanted digits of each class",
    "real": "the withheld right-leaning writers' own digits",
}


@dataclass(frozen=True)
class DiversityExperiment:
    """Everything that defines the experiment (and so its cache entry).

    Attributes
    ----------
    quantile : float
        An image belongs to the group when its slant is above this quantile of
        the slants of its digit in the real training split (0.8: the fifth of
        each digit's images that lean furthest right).
    keep_share : float
        Share of the group's training images that stay in the training set.
    seeds : tuple of int
        One run per seed; a seed draws the kept images, the added images and
        the classifier's initial weights.
    epochs : int
        Training passes of each classifier (the book's small MLP).
    pool_per_class : int
        Generated digits per class from which the generator strategy keeps the
        most slanted.
    """

    quantile: float = 0.8
    keep_share: float = 0.1
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: int = 8
    pool_per_class: int = 1000
    strategies: tuple[str, ...] = field(default=STRATEGIES)

    def __post_init__(self) -> None:
        check_number(
            "quantile",
            self.quantile,
            minimum=0.0,
            maximum=1.0,
            inclusive=(False, False),
        )
        check_number("keep_share", self.keep_share, minimum=0.0, maximum=1.0)
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed, e.g. (0, 1, 2)")
        for seed in self.seeds:
            check_seed("seeds", seed)
        check_count("epochs", self.epochs, minimum=1)
        check_count("pool_per_class", self.pool_per_class, minimum=1)
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown or "none" not in self.strategies:
            raise ValueError(
                f"strategies must include 'none' and come from {STRATEGIES}, "
                f"got {self.strategies}"
            )


def slant_scores(images: torch.Tensor) -> np.ndarray:
    """Slant of each image: the shear implied by its second moments.

    ``-mu11 / mu02`` (rows grow downwards): positive leans right, in pixels of
    horizontal shift per row. Shearing an image by ``k`` adds about ``k``.
    """
    return tails.style_scores(images, "slant")


def group_thresholds(data: MnistData, quantile: float) -> np.ndarray:
    """Per digit, the slant above which an image counts as right-leaning, ``(10,)``."""
    check_number(
        "quantile", quantile, minimum=0.0, maximum=1.0, inclusive=(False, False)
    )
    scores, labels = slant_scores(data.images), data.labels.numpy()
    missing = [d for d in range(10) if not (labels == d).any()]
    if missing:
        raise ValueError(f"data has no images of digit(s) {missing}: need all ten")
    return np.array([np.quantile(scores[labels == d], quantile) for d in range(10)])


def in_group(
    images: torch.Tensor, labels: torch.Tensor, thresholds: np.ndarray
) -> np.ndarray:
    """Boolean mask: which images lean further right than their digit's threshold."""
    return slant_scores(images) > np.asarray(thresholds)[np.asarray(labels)]


def shear(images: torch.Tensor, amounts: np.ndarray | Sequence[float]) -> torch.Tensor:
    """Shear each image about its centre: ``amounts`` pixels of shift per row.

    Positive amounts lean the digit to the right (top to the right), which adds
    about ``amount`` to its :func:`slant_scores`. Returns ``(N, 28, 28)`` in [0, 1].
    """
    x = torch.as_tensor(images).reshape(-1, 1, 28, 28).float()
    k = torch.as_tensor(np.asarray(amounts, dtype=np.float32)).reshape(-1)
    if len(k) != len(x):
        raise ValueError(f"amounts has {len(k)} values for {len(x)} images: one each")
    if not torch.isfinite(k).all():
        raise ValueError("amounts must be finite numbers (no NaN or inf)")
    theta = torch.zeros(len(x), 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 1] = 1.0, k, 1.0
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    return out.reshape(-1, 28, 28).clamp(0.0, 1.0)


@dataclass(frozen=True)
class Skew:
    """A training set that under-represents the group.

    Attributes
    ----------
    data : MnistData
        Every non-group training image and the kept group images.
    kept, withheld : numpy.ndarray
        Indices (into the full training split) of the group images kept and left out.
    """

    data: MnistData
    kept: np.ndarray
    withheld: np.ndarray


def withhold(train: MnistData, group: np.ndarray, keep_share: float, seed: int) -> Skew:
    """Keep a seeded random ``keep_share`` of each digit's group; drop the rest."""
    rng = np.random.default_rng(seed)
    labels = train.labels.numpy()
    kept, withheld = [], []
    for digit in range(10):
        members = np.flatnonzero(group & (labels == digit))
        chosen = rng.permutation(members)
        n_keep = int(round(keep_share * len(members)))
        kept.append(chosen[:n_keep])
        withheld.append(chosen[n_keep:])
    kept_idx, withheld_idx = (
        np.sort(np.concatenate(kept)),
        np.sort(np.concatenate(withheld)),
    )
    keep = np.sort(np.concatenate([np.flatnonzero(~group), kept_idx]))
    return Skew(train.subset(keep), kept_idx, withheld_idx)


def _wanted(train: MnistData, skew: Skew) -> np.ndarray:
    """How many images of each digit every strategy adds: as many as were withheld."""
    return np.bincount(train.labels.numpy()[skew.withheld], minlength=10)


def _oversample(train: MnistData, skew: Skew, rng: np.random.Generator) -> np.ndarray:
    labels, picks = train.labels.numpy(), []
    for digit, count in enumerate(_wanted(train, skew)):
        pool = skew.kept[labels[skew.kept] == digit]
        if count and not len(pool):
            raise ValueError(
                f"no right-leaning {digit} was kept to repeat: raise keep_share"
            )
        picks.append(rng.choice(pool, count, replace=True) if count else pool[:0])
    return np.concatenate(picks)


def _sheared(
    train: MnistData,
    skew: Skew,
    group: np.ndarray,
    thresholds: np.ndarray,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Upright digits, each sheared to the slant of a kept right-leaning digit."""
    labels, scores = train.labels.numpy(), slant_scores(train.images)
    chosen, targets = [], []
    for digit, count in enumerate(_wanted(train, skew)):
        upright = np.flatnonzero(~group & (labels == digit))
        kept = skew.kept[labels[skew.kept] == digit]
        # The designer's knob: lean as far as the kept right-leaning writers did
        # (just past the line when none was kept).
        aims = scores[kept] if len(kept) else np.array([thresholds[digit] + 0.05])
        chosen.append(rng.choice(upright, count, replace=True))
        targets.append(rng.choice(aims, count, replace=True))
    idx, target = np.concatenate(chosen), np.concatenate(targets)
    images = shear(train.images[idx], target - scores[idx])
    return images, train.labels[idx]


def _generated(
    generator: torch.nn.Module, wanted: np.ndarray, pool_per_class: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the generator's most slanted digits, ``wanted[d]`` of each digit ``d``."""
    labels = gan.class_labels(pool_per_class)
    pool = gan.generate(generator, labels, seed=seed)
    scores, picks = slant_scores(pool), []
    for digit, count in enumerate(wanted):
        members = np.flatnonzero(labels.numpy() == digit)
        if count > len(members):
            raise ValueError(
                f"pool_per_class={pool_per_class} is smaller than the {count} "
                f"images of digit {digit} wanted: raise pool_per_class"
            )
        picks.append(members[np.argsort(-scores[members], kind="stable")[:count]])
    idx = np.concatenate(picks)
    return pool[idx], labels[idx]


def added_images(
    strategy: str,
    train: MnistData,
    skew: Skew,
    group: np.ndarray,
    thresholds: np.ndarray,
    *,
    seed: int,
    generator: torch.nn.Module | None = None,
    pool_per_class: int = 1000,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the images (and labels) ``strategy`` adds to the skewed training set.

    Every strategy but ``"none"`` adds as many images of each digit as were
    withheld from the training set.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: use one of {STRATEGIES}")
    rng = np.random.default_rng(seed)
    if strategy == "none":
        return train.images[:0], train.labels[:0]
    if strategy == "real":
        return train.images[skew.withheld], train.labels[skew.withheld]
    if strategy == "oversample":
        idx = _oversample(train, skew, rng)
        return train.images[idx], train.labels[idx]
    if strategy == "shear":
        return _sheared(train, skew, group, thresholds, rng)
    if generator is None:
        raise ValueError("the 'generator' strategy needs generator=<a trained GAN's>")
    return _generated(generator, _wanted(train, skew), pool_per_class, seed)


def score(
    model: metrics.Classifier, test: MnistData, test_group: np.ndarray
) -> dict[str, float]:
    """Accuracy on the test split: for the group, for everyone else, overall."""
    right = model.predict(test.images) == test.labels.numpy()
    group_acc, rest_acc = (
        float(right[test_group].mean()),
        float(right[~test_group].mean()),
    )
    return {
        "group": group_acc,
        "rest": rest_acc,
        "gap": rest_acc - group_acc,
        "overall": float(right.mean()),
    }


def _fingerprint(module: torch.nn.Module | None) -> str:
    if module is None:
        return "none"
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def run_one_seed(
    experiment: DiversityExperiment,
    train: MnistData,
    test: MnistData,
    seed: int,
    generator: torch.nn.Module | None = None,
    judge: metrics.Classifier | None = None,
) -> list[dict[str, Any]]:
    """Train and score one classifier per strategy for one seed; one row each."""
    thresholds = group_thresholds(train, experiment.quantile)
    group = in_group(train.images, train.labels, thresholds)
    test_group = in_group(test.images, test.labels, thresholds)
    skew = withhold(train, group, experiment.keep_share, seed)
    rows = []
    for strategy in experiment.strategies:
        images, labels = added_images(
            strategy,
            train,
            skew,
            group,
            thresholds,
            seed=seed,
            generator=generator,
            pool_per_class=experiment.pool_per_class,
        )
        model = metrics.train_classifier(
            torch.cat([skew.data.images, images]),
            torch.cat([skew.data.labels, labels]),
            arch="mlp",
            epochs=experiment.epochs,
            seed=seed,
        )
        row = {
            "strategy": strategy,
            "amount": len(images),
            "seed": seed,
            **score(model, test, test_group),
        }
        if len(images):
            row["added_in_group"] = float(in_group(images, labels, thresholds).mean())
            if judge is not None:
                row["judge_agrees"] = float(
                    (judge.predict(images) == labels.numpy()).mean()
                )
        rows.append(row)
    return rows


def run_experiment(
    experiment: DiversityExperiment,
    train: MnistData,
    test: MnistData,
    generator: torch.nn.Module | None = None,
    judge: metrics.Classifier | None = None,
) -> list[dict[str, Any]]:
    """Every seed of :func:`run_one_seed`, each cached on its own.

    The cache key covers the experiment, both data sets, the generator's and
    the judge's weights, torch's thread count and this module's code.
    """
    if "generator" in experiment.strategies and generator is None:
        raise ValueError("the 'generator' strategy needs generator=<a trained GAN's>")
    rows: list[dict[str, Any]] = []
    for seed in experiment.seeds:
        key = make_key(
            experiment={**asdict(experiment), "seeds": [seed]},
            train=train.fingerprint(),
            test=test.fingerprint(),
            generator=_fingerprint(generator),
            judge=_fingerprint(judge),
            threads=torch.get_num_threads(),
            code=code_version(
                run_one_seed,
                added_images,
                _sheared,
                _generated,
                _oversample,
                withhold,
                shear,
                slant_scores,
                score,
                metrics.train_classifier,
                gan.generate,
            ),
        )
        path = cache_dir("no_real_risk") / f"diversity-{key}.pt"
        cached = load_or_none(path)
        if cached is None:
            cached = run_one_seed(experiment, train, test, seed, generator, judge)
            save_checked(path, cached)
        rows.extend(cached)
    return rows


def paired(
    rows: list[dict[str, Any]],
    strategy: str,
    baseline: str = "none",
    metric: str = "group",
) -> dict[str, Any]:
    """Return the per-seed difference ``strategy - baseline`` of ``metric`` (95% CI)."""
    amounts = {r["strategy"]: int(r["amount"]) for r in rows}
    for name in (strategy, baseline):
        if name not in amounts:
            raise ValueError(f"no rows for strategy {name!r}: ran {sorted(amounts)}")
    return stats.paired_difference(
        rows, (strategy, amounts[strategy]), (baseline, amounts[baseline]), metric
    )


def mean_of(
    rows: list[dict[str, Any]], strategy: str, metric: str
) -> tuple[float, float, float]:
    """Mean of ``metric`` over seeds for ``strategy``, with its 95% interval."""
    values = [
        float(r[metric]) for r in rows if r["strategy"] == strategy and metric in r
    ]
    if not values:
        raise ValueError(f"no values of {metric!r} for strategy {strategy!r}")
    return stats.mean_interval(values)


def plot_accuracy(
    rows: list[dict[str, Any]], strategies: Sequence[str] = STRATEGIES
) -> Figure:
    """Accuracy of the group and of everyone else, per strategy, with 95% intervals."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    present = [s for s in strategies if any(r["strategy"] == s for r in rows)]
    for i, (metric, label) in enumerate(
        (("group", "right-leaning writers"), ("rest", "everyone else"))
    ):
        x = np.arange(len(present)) + (0.12 if i else -0.12)
        values = np.array([mean_of(rows, s, metric) for s in present])
        errors = np.abs(values[:, 1:].T - values[:, 0])
        ax.errorbar(
            x,
            values[:, 0],
            yerr=errors,
            fmt="os"[i],
            color=OKABE_ITO[4 + i],
            capsize=3,
            label=label,
        )
    ax.set_xticks(range(len(present)), present)
    ax.set(
        xlabel="what was added to the skewed training set",
        ylabel="accuracy on real test digits",
    )
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def results_table(
    rows: list[dict[str, Any]], strategies: Sequence[str] = STRATEGIES
) -> str:
    """Return an HTML table of mean accuracies (95% intervals) per strategy."""
    head = (
        "<tr><th>added to the skewed training set</th><th>images added</th>"
        "<th>right-leaning writers</th><th>everyone else</th><th>overall</th></tr>"
    )
    body = []
    for name in (s for s in strategies if any(r["strategy"] == s for r in rows)):
        amount = next(int(r["amount"]) for r in rows if r["strategy"] == name)
        cells = [
            f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
            for m, lo, hi in (
                mean_of(rows, name, k) for k in ("group", "rest", "overall")
            )
        ]
        body.append(
            f"<tr><td>{name}: {DESCRIPTIONS[name]}</td><td>{amount:,}</td>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def summary(rows: list[dict[str, Any]], strategy: str, metric: str) -> dict[str, float]:
    """Return :func:`mean_of` as a dict with ``mean``, ``low`` and ``high``."""
    return dict(
        zip(("mean", "low", "high"), mean_of(rows, strategy, metric), strict=True)
    )
