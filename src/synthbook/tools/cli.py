"""Command line for instructors and scripts: ``python -m synthbook COMMAND``.

Each command is a small function ``_cmd_NAME(args)`` registered in
:func:`build_parser`; the work itself lives in the library modules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_data(args: argparse.Namespace) -> int:
    from synthbook.data import book_splits, load_mnist

    data = load_mnist(args.data)
    splits = book_splits(data, seed=args.seed)
    print(
        f"splits (seed {args.seed}): train {len(splits.train):,}, "
        f"judge {len(splits.judge):,}, test {len(splits.test):,}"
    )
    print(
        "per-class counts in train:",
        " ".join(str(c) for c in splits.train.class_counts()),
    )
    return 0


def _cmd_exercises(args: argparse.Namespace) -> int:
    from synthbook.tools.exercises import check_generated, find_root, generate

    root = find_root(args.root)
    if args.check:
        problems = check_generated(root)
        for problem in problems:
            print(f"out of date: {problem}", file=sys.stderr)
        if problems:
            print(
                "run `python -m synthbook exercises` and commit the result",
                file=sys.stderr,
            )
            return 1
        print("exercise notebooks and pages match their sources")
        return 0
    changed = generate(root)
    for path in changed:
        print(f"wrote {path}")
    print(f"{len(changed)} file(s) changed")
    return 0


def _cmd_boundaries(args: argparse.Namespace) -> int:
    from synthbook.chapters import separating_power
    from synthbook.data import book_splits, load_mnist
    from synthbook.repro import setup

    # Check the cheap things before loading data and models.
    digits = separating_power.check_digits(args.pair)
    separating_power.check_amount(args.amount)
    separating_power.check_rule(args.rule)
    separating_power.blend_plan(digits, 0, args.oddness)
    from synthbook import gan, metrics

    setup(seed=args.seed, verbose=False)
    splits = book_splits(load_mnist(args.data), seed=0)
    # The same call as the chapters, so the GAN and judge come from the shared cache.
    trained = gan.load_or_train(
        splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=0
    )
    judge = metrics.load_or_train_judge(splits.judge, seed=0)
    problem = separating_power.build_problem(
        splits.train, splits.test, digits, projection=args.projection
    )
    source = None if args.ask_for == "all" else digits[0]
    pool = separating_power.make_pool(
        trained.generator,
        problem,
        size=max(args.amount, 1),
        oddness=args.oddness,
        noise_scale=args.noise_scale,
        seed=args.seed,
        judge=judge,
        source=source,
    )
    result = separating_power.run_condition(
        problem,
        pool,
        amount=args.amount,
        rule=args.rule,
        model=args.model,
        seed=args.seed,
    )
    asked = "every digit in turn" if source is None else f"only {source}s"
    print(
        f"digits {' / '.join(map(str, digits))}, {args.projection.upper()} view, "
        f"{args.model} classifier; +{args.amount} synthetic ({asked}, oddness "
        f"{args.oddness:g}, noise scale {args.noise_scale:g}) labelled by {args.rule!r}"
    )
    print(result.shift.summary())
    return 0


def _cmd_train_gan(args: argparse.Namespace) -> int:
    from synthbook import gan
    from synthbook.data import book_splits, load_mnist
    from synthbook.repro import setup

    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(
            f"{out} exists; choose another --out or pass --force to replace it"
        )
    if args.seconds is None and args.steps is None:
        raise ValueError("give a budget: --seconds, --steps, or both")
    setup(args.seed)
    splits = book_splits(load_mnist(args.data), seed=args.seed)
    config = gan.GANConfig(arch=args.arch)
    result = gan.train_gan(
        splits.train, config, seconds=args.seconds, steps=args.steps, seed=args.seed
    )
    gan.save_checkpoint(result, out)
    print(f"trained {result.steps:,} steps in {result.seconds:.1f} s; wrote {out}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    import io

    import numpy as np
    import torch

    from synthbook import gan
    from synthbook.cache import write_atomic

    out = Path(args.out)
    if out.suffix != ".npz":
        raise ValueError(f"--out must end in .npz, got {out}")
    if out.exists() and not args.force:
        raise ValueError(
            f"{out} exists; choose another --out or pass --force to replace it"
        )
    if args.per_class < 1:
        raise ValueError("--per-class must be at least 1")
    result = gan.load_checkpoint(args.checkpoint)
    labels = torch.arange(10).repeat_interleave(args.per_class)
    images = gan.generate(result.generator, labels, seed=args.seed)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=images.numpy().astype(np.float32),
        labels=labels.numpy().astype(np.int64),
    )
    write_atomic(out, buffer.getvalue())
    print(f"wrote {len(labels):,} samples ({args.per_class} per digit) to {out}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from synthbook.tools import bench

    kwargs = {"seconds": args.seconds} if args.seconds is not None else {}
    bench.run(args.name, **kwargs)
    return 0


def _cmd_belonging(args: argparse.Namespace) -> int:
    from synthbook.tools import bench

    bench.bench_privacy(data_source=args.data, seed=args.seed)
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from synthbook.tools import prepare

    return prepare.main(
        (["--data", args.data] if args.data else []) + (["--quiet"] * args.quiet)
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m synthbook",
        description="Tools for the teaching module 'The Politics of Synthetic Data'.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser(
        "data", help="load MNIST and say which source and splits are used"
    )
    data.add_argument(
        "--data",
        choices=["auto", "mnist", "embedded"],
        default=None,
        help="MNIST source (default: $SYNTHBOOK_DATA, else auto)",
    )
    data.add_argument("--seed", type=int, default=0)
    data.set_defaults(handler=_cmd_data)

    exercises = commands.add_parser(
        "exercises", help="generate learner and solution notebooks and book pages"
    )
    exercises.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if generated files differ from sources",
    )
    exercises.add_argument(
        "--root",
        default=None,
        help="repository folder (default: found from the current folder)",
    )
    exercises.set_defaults(handler=_cmd_exercises)

    bnd = commands.add_parser(
        "boundaries",
        help="add synthetic digits to a 2-D classifier and measure the boundary shift",
    )
    bnd.add_argument(
        "--pair",
        type=int,
        nargs="+",
        default=[4, 9],
        metavar="DIGIT",
        help="two (or three) confusable digits (default: 4 9)",
    )
    bnd.add_argument(
        "--amount", type=int, default=200, help="synthetic digits to add (default: 200)"
    )
    bnd.add_argument(
        "--rule",
        default="conditioning",
        help="labelling rule: conditioning, judge or nearest (default: conditioning)",
    )
    bnd.add_argument(
        "--oddness",
        type=float,
        default=0.3,
        help="blend weight toward the next digit, 0 to 0.5 (default: 0.3)",
    )
    bnd.add_argument(
        "--noise-scale",
        type=float,
        default=1.0,
        help="multiplies the generator's noise (default: 1)",
    )
    bnd.add_argument(
        "--ask-for",
        choices=["first", "all"],
        default="first",
        help="ask the generator for the first digit only, or all in turn",
    )
    bnd.add_argument("--model", choices=["logistic", "mlp"], default="logistic")
    bnd.add_argument("--projection", choices=["pls", "pca"], default="pls")
    bnd.add_argument(
        "--data",
        choices=["auto", "mnist", "embedded"],
        default=None,
        help="MNIST source (default: $SYNTHBOOK_DATA, else auto)",
    )
    bnd.add_argument("--seed", type=int, default=0)
    bnd.set_defaults(handler=_cmd_boundaries)

    train = commands.add_parser(
        "train-gan", help="train the conditional GAN and save a checkpoint"
    )
    train.add_argument("--seconds", type=float, default=None, help="wall-clock budget")
    train.add_argument(
        "--steps", type=int, default=None, help="step budget (reproducible)"
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--arch", choices=["mlp", "conv"], default="mlp")
    train.add_argument("--data", choices=["auto", "mnist", "embedded"], default=None)
    train.add_argument("--out", required=True, help="checkpoint file to write")
    train.add_argument("--force", action="store_true", help="replace an existing --out")
    train.set_defaults(handler=_cmd_train_gan)

    sample = commands.add_parser(
        "sample", help="draw class-conditional samples into an .npz"
    )
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument("--per-class", type=int, default=100)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help=".npz file with images and labels")
    sample.add_argument(
        "--force", action="store_true", help="replace an existing --out"
    )
    sample.set_defaults(handler=_cmd_sample)

    bench = commands.add_parser(
        "bench", help="print benchmark numbers (gan, tails, privacy)"
    )
    bench.add_argument("name", help="which benchmark: gan, tails or privacy")
    bench.add_argument(
        "--seconds", type=float, default=None, help="training budget (gan)"
    )
    bench.set_defaults(handler=_cmd_bench)

    belong = commands.add_parser(
        "belonging",
        help="copying statistics, membership-attack AUCs and the DP curve "
        "(the same as bench privacy)",
    )
    belong.add_argument(
        "--data",
        choices=["auto", "mnist", "embedded"],
        default=None,
        help="MNIST source (default: $SYNTHBOOK_DATA, else auto)",
    )
    belong.add_argument("--seed", type=int, default=0)
    belong.set_defaults(handler=_cmd_belonging)

    prepare = commands.add_parser(
        "prepare",
        help="train (or find) the models several chapters share: the book's GAN "
        "and the judge, so that no chapter pays for them",
    )
    prepare.add_argument(
        "--data",
        choices=["auto", "mnist", "embedded"],
        default=None,
        help="MNIST source (default: $SYNTHBOOK_DATA, else auto)",
    )
    prepare.add_argument("--quiet", action="store_true", help="no progress bar")
    prepare.set_defaults(handler=_cmd_prepare)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
