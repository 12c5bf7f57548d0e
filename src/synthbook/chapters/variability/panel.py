"""Try a tail of your own: a panel precomputed from the experiment, and a live one.

:func:`panel_frames` turns the experiment's rows into the frames of
:func:`synthbook.widgets.precomputed_panel`, which works in the static book
with no kernel. :func:`live_panel` is the same question with the full range of
settings (any digit, any number kept, any amount); it trains models, so it
needs a running kernel.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from synthbook import tails
from synthbook.chapters.variability import experiment as runner
from synthbook.chapters.variability import shifts, strategies
from synthbook.data import Splits
from synthbook.plotting import digit_grid
from synthbook.validate import check_choice, check_count, check_digit, check_seed

#: How the panel names each condition.
LABELS: dict[str, str] = {
    "none": "nothing added",
    runner.REAL: "real images collected (reference)",
    "oversample": "oversample (copies)",
    "perturb": "perturb (classic)",
    "gan": "gan",
    "gan-edge": "gan-edge",
    "gan-interp": "gan-interp",
    "perturb+gan": "perturb + gan on top",
}
_ROW = runner.EXAMPLES  # digits per row
#: Grey levels of the panel's pictures: 16 look the same as 256 at this size and
#: make each picture about two fifths smaller (the page carries every frame).
GREY_LEVELS = 16


def _strip(images: torch.Tensor, count: int = _ROW) -> torch.Tensor:
    """Return ``count`` images, padded with blank ones (shown as empty page)."""
    images = images[:count].float()
    blank = torch.zeros(count - len(images), 28, 28)
    return torch.cat([images, blank])


def _png(grid: np.ndarray) -> bytes:
    """Encode a grid of digits as dark ink on a light page, a 4-bit grey PNG."""
    levels = np.round(np.clip(grid, 0.0, 1.0) * (GREY_LEVELS - 1))
    ink = (255 - levels * (255 // (GREY_LEVELS - 1))).astype(np.uint8)
    picture = Image.fromarray(ink).convert(
        "P", palette=Image.ADAPTIVE, colors=GREY_LEVELS
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True, bits=4)
    return buffer.getvalue()


def _provenance(strategy: str) -> str:
    if strategy in ("none", "oversample", runner.REAL):
        return "real"
    return "synthetic" if strategy in strategies.SYNTHETIC else "mixed"


def panel_frames(
    rows: Sequence[dict[str, Any]],
    splits: Splits,
    experiment: runner.TailExperiment,
) -> tuple[list[Any], dict[tuple[Any, ...], dict[str, Any]]]:
    """Return ``(controls, frames)`` for :func:`synthbook.widgets.precomputed_panel`.

    One frame per seed, condition and amount of the experiment: the real
    images kept in that seed's tail above the added images (as stored in the
    rows), and a sentence with that classifier's scores next to the
    nothing-added classifier of the same seed.
    """
    digit = experiment.rare_digit
    amounts = experiment.resolve_amounts(splits.train)
    by = {(r["seed"], r["strategy"], r["amount"]): r for r in rows}
    # The first option is shown first: a strategy that adds images, so that
    # every menu changes the picture from the start ("none" adds nothing at
    # any amount).
    strategies = [*experiment.strategies, runner.REAL, "none"]
    controls = [
        ("seed", "seed", [(str(s), s) for s in experiment.seeds]),
        ("strategy", "what is added", [(LABELS[s], s) for s in strategies]),
        (
            "amount",
            "how many",
            [(f"{a} (twice for a combination)", a) for a in amounts],
        ),
    ]
    frames = {}
    for seed in experiment.seeds:
        tail = tails.make_long_tail(splits.train, digit, experiment.keep, seed=seed)
        kept = _strip(tail.images[tail.labels == digit])
        base = by[seed, "none", 0]
        for strategy in strategies:
            for amount in amounts:
                added = 0 if strategy == "none" else amount
                added *= 2 if "+" in strategy else 1
                row = by[seed, strategy, added]
                examples = _strip(row["examples"].float() / 255.0)
                frames[seed, strategy, amount] = {
                    "png": _png(digit_grid(torch.cat([kept, examples]), nrow=_ROW)),
                    "alt": _alt(digit, experiment.keep, seed, strategy, added),
                    "text": _text(row, base, digit, strategy, added),
                }
    return controls, frames


def _alt(digit: int, keep: int, seed: int, strategy: str, added: int) -> str:
    top = f"Top row: the {min(keep, _ROW)} real {digit}s kept in seed {seed}'s tail."
    if not added:
        return top + " Bottom row: empty, nothing was added."
    kind = {"real": "real", "synthetic": "synthetic", "mixed": "real and synthetic"}
    return (
        f"{top} Bottom row: {min(added, _ROW)} of the {added} images added by "
        f"'{strategy}' ({kind[_provenance(strategy)]} digits)."
    )


def _text(
    row: dict[str, Any], base: dict[str, Any], digit: int, strategy: str, added: int
) -> str:
    what = "nothing added" if not added else f"{added} images from '{strategy}'"
    kind = {"real": "real", "synthetic": "synthetic", "mixed": "real and synthetic"}
    rows = f"Top row: real {digit}s kept. " + (
        f"Bottom row: {kind[_provenance(strategy)]} digits added. " if added else ""
    )
    parts = []
    for test_set in shifts.TEST_SETS:
        name = runner.metric_name("rare_recall", test_set)
        parts.append(f"{test_set} {row[name]:.2f} (nothing added: {base[name]:.2f})")
    return (
        rows
        + f"Seed {row['seed']}, {what}. Recall of {digit} on real test digits: "
        + "; ".join(parts)
        + f". Accuracy on all digits as collected {row['accuracy']:.3f} "
        f"(nothing added: {base['accuracy']:.3f}). One seed is a quick look, "
        "not evidence."
    )


def try_tail(
    splits: Splits,
    *,
    digit: int,
    keep: int,
    strategy: str,
    amount: int,
    seed: int = 0,
    experiment: runner.TailExperiment | None = None,
) -> dict[str, Any]:
    """Train two classifiers, with nothing added and with ``amount`` images added.

    The same models as the experiment's (``experiment`` supplies the
    classifier and GAN settings), for any digit, number kept and amount;
    a GAN strategy on a new tail first trains that tail's GAN (cached).

    Returns
    -------
    dict
        ``"without"`` and ``"with"`` (each a dict of scores on every test
        set, keyed as the experiment's rows) and ``"added"`` (the images).
    """
    experiment = experiment or runner.TailExperiment()
    check_digit("digit", digit)
    check_count("keep", keep, minimum=1)
    check_choice("strategy", strategy, strategies.STRATEGIES)
    check_count("amount", amount)
    check_seed("seed", seed)
    tail = tails.make_long_tail(splits.train, digit, keep, seed=seed)
    generator = None
    if "gan" in strategy:
        generator = runner.load_or_train_tail_gan(
            splits.train,
            rare_digit=digit,
            keep=keep,
            seed=seed,
            steps=experiment.gan_steps,
            progress=False,
        ).generator
    added = strategies.synthesize(
        strategy, tail, digit, amount, seed=seed, generator=generator
    )
    images = torch.cat([tail.images, added])
    labels = torch.cat([tail.labels, torch.full((len(added),), digit)])
    members = [torch.arange(len(tail)), torch.arange(len(images))]
    models = experiment.train_classifiers(images, labels, members, seed)
    tests = shifts.shifted_tests(splits.test)
    scores = [runner.score(model, tests, digit) for model in models]
    return {"without": scores[0], "with": scores[1], "added": added}


def live_panel(splits: Splits, experiment: runner.TailExperiment | None = None) -> Any:
    """Return an ipywidgets panel that runs :func:`try_tail` (needs a kernel)."""
    import ipywidgets as widgets

    from synthbook.widgets import digits_html

    experiment = experiment or runner.TailExperiment()
    gap = experiment.gap(splits.train)
    style = {"description_width": "90px"}
    controls = {
        "digit": widgets.Dropdown(
            options=list(tails.DIGITS),
            value=experiment.rare_digit,
            style=style,
            description="rare digit",
        ),
        "keep": widgets.IntSlider(
            value=experiment.keep, min=1, max=100, description="keep", style=style
        ),
        "strategy": widgets.Dropdown(
            options=list(strategies.STRATEGIES[1:]),
            value="perturb",
            style=style,
            description="strategy",
        ),
        "amount": widgets.IntSlider(
            value=gap,
            min=0,
            max=2 * gap,
            step=max(1, gap // 12),
            style=style,
            description="add",
        ),
        "seed": widgets.IntSlider(
            value=0, min=0, max=99, description="seed", style=style
        ),
    }
    button = widgets.Button(description="Run (live kernel only)")
    report = widgets.HTML()

    def on_run(_: object) -> None:
        chosen = {name: control.value for name, control in controls.items()}
        report.value = "<p>training...</p>"
        found = try_tail(splits, experiment=experiment, **chosen)
        lines = [
            f"{t}: recall of {chosen['digit']} "
            f"{found['without'][runner.metric_name('rare_recall', t)]:.2f} without, "
            f"{found['with'][runner.metric_name('rare_recall', t)]:.2f} with"
            for t in shifts.TEST_SETS
        ]
        picture = ""
        if len(found["added"]):
            picture = digits_html(
                found["added"][:_ROW],
                f"{min(len(found['added']), _ROW)} of the images added by "
                f"'{chosen['strategy']}' ({_provenance(chosen['strategy'])} digits)",
                nrow=_ROW,
            )
        report.value = "<p>" + "<br>".join(lines) + "</p>" + picture

    button.on_click(on_run)
    return widgets.VBox([*controls.values(), button, report])
