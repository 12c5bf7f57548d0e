"""Command line for instructors and scripts: ``python -m synthbook COMMAND``.

Each command is a small function ``_cmd_NAME(args)`` registered in
:func:`build_parser`; the work itself lives in the library modules.

Every command checks its cheap arguments (counts, ranges, output paths) before
it loads data or trains anything, and reports a wrong input as one line on
stderr, ``error: ...``, naming the option and the fix, with exit code 2 and no
traceback. Set ``SYNTHBOOK_DEBUG=1`` to see the traceback as well.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from synthbook.repro import choose_threads
from synthbook.validate import (
    check_count,
    check_number,
    check_output_path,
    check_seed,
)

#: Upper bounds that keep a command within a laptop's memory and patience.
MAX_PER_CLASS = 10_000  # sample: 100,000 images, about 300 MB as float32
MAX_AMOUNT = 10_000  # boundaries: synthetic digits added to a 2-D classifier
MAX_STEPS = 1_000_000  # train-gan: the book uses 2,000
MAX_SECONDS = 7 * 24 * 3600.0  # a week
MAX_NOISE_SCALE = 10.0
_FORCE_HINT = "choose another --out or pass --force to replace it"
#: One line per benchmark for ``bench --help``, in the order shown. The names are
#: those of :data:`synthbook.tools.bench.BENCHMARKS` (tests/test_cli_help.py checks
#: that the two agree); kept here so that ``--help`` does not import the benchmarks.
BENCHMARK_HELP = {
    "browser": "the in-browser generator: redraw time in headless Chromium, bytes "
    "each page loads, parity with Python",
    "build": "a cold build in temporary folders: each notebook's time and peak "
    "memory, and the total",
    "classroom": "learner sessions alone and K at a time: first figure, memory, "
    "wall time (the figures deploy/values.yaml uses)",
    "gan": "GAN quality against training steps: the book's recipe, the previous "
    "one and baselines; cost per step",
    "memory": "each notebook's peak memory here and with a CPU-only torch (warm cache)",
    "privacy": "copying statistics, membership-attack AUCs and the DP curve (as "
    "`belonging`)",
    "tails": "the variability experiment's cost, old and new, and its paired results",
}


class CommandError(Exception):
    """A user error found by a command: printed as ``error: ...``, exit code 2."""


def _whole(text: str) -> int:
    """Argparse type: a whole number, also written as ``1e3`` or ``200.0``."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number, got {text!r}"
        ) from None
    if not math.isfinite(number) or not number.is_integer():
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}")
    return int(number)


def _finite(text: str) -> float:
    """Argparse type: a finite number (``nan`` and ``inf`` are refused here)."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return number


def _cmd_data(args: argparse.Namespace) -> int:
    from synthbook.data import book_splits, load_mnist

    check_seed("--seed", args.seed)
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
    try:
        from synthbook.tools.exercises import check_generated, find_root, generate
    except ModuleNotFoundError as err:
        raise CommandError(
            f"`synthbook exercises` needs {err.name}, which a plain install does not "
            f"include: install the authoring tools with "
            f"`pip install 'synthbook[book]'` (or `pip install jupytext nbformat`)"
        ) from err

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
    check_count("--amount", args.amount, maximum=MAX_AMOUNT)
    separating_power.check_rule(args.rule)
    separating_power.blend_plan(digits, 0, args.oddness)
    check_number("--noise-scale", args.noise_scale, minimum=0, maximum=MAX_NOISE_SCALE)
    check_seed("--seed", args.seed)
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
    from synthbook.tools import checkpoints

    out = check_output_path(
        "--out", args.out, overwrite=args.force, overwrite_hint=_FORCE_HINT
    )
    if args.seconds is None and args.steps is None:
        raise CommandError("give a budget: --seconds, --steps, or both")
    if args.seconds is not None:
        check_number("--seconds", args.seconds, minimum=1, maximum=MAX_SECONDS)
    if args.steps is not None:
        check_count("--steps", args.steps, minimum=1, maximum=MAX_STEPS)
    check_seed("--seed", args.seed)
    setup(args.seed)
    splits = book_splits(load_mnist(args.data), seed=args.seed)
    result = gan.train_gan(
        splits.train,
        gan.GANConfig(),
        seconds=args.seconds,
        steps=args.steps,
        seed=args.seed,
    )
    if result.steps < 1:
        raise CommandError(
            f"--seconds {args.seconds:g} ran out before the first training step; "
            f"nothing was written. Give more --seconds, or --steps"
        )
    written = checkpoints.save_without_losing(result, out)
    print(f"trained {result.steps:,} steps in {result.seconds:.1f} s; wrote {written}")
    return 0 if written == out else 2


def _cmd_sample(args: argparse.Namespace) -> int:
    from synthbook.tools import checkpoints

    out = check_output_path(
        "--out",
        args.out,
        overwrite=args.force,
        suffix=".npz",
        overwrite_hint=_FORCE_HINT,
    )
    per_class = check_count(
        "--per-class", args.per_class, minimum=1, maximum=MAX_PER_CLASS
    )
    seed = check_seed("--seed", args.seed)
    result = checkpoints.load_for_command(Path(args.checkpoint), "--checkpoint")
    labels = checkpoints.write_samples(result, per_class, seed, out)
    print(f"wrote {len(labels):,} samples ({per_class:,} per digit) to {out}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from synthbook.tools import bench

    if args.seconds is not None:
        check_number("--seconds", args.seconds, minimum=1, maximum=MAX_SECONDS)
    kwargs = {"seconds": args.seconds} if args.seconds is not None else {}
    bench.run(args.name, **kwargs)
    return 0


def _cmd_belonging(args: argparse.Namespace) -> int:
    from synthbook.tools import bench

    check_seed("--seed", args.seed)
    bench.bench_privacy(data_source=args.data, seed=args.seed)
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from synthbook.tools import prepare

    return prepare.main(
        (["--data", args.data] if args.data else []) + (["--quiet"] * args.quiet)
    )


def _benchmark_list(width: int = 79) -> str:
    """Return the benchmarks with a line on each, for ``bench --help``."""
    indent = 4 + max(map(len, BENCHMARK_HELP))
    lines = ["benchmarks:"]
    for name, text in BENCHMARK_HELP.items():
        lines += textwrap.wrap(
            text,
            width,
            initial_indent=f"  {name:<{indent - 4}}  ",
            subsequent_indent=" " * indent,
        )
    return "\n".join(lines)


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
    data.add_argument("--seed", type=_whole, default=0)
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
        type=_whole,
        nargs="+",
        default=[4, 9],
        metavar="DIGIT",
        help="two (or three) confusable digits (default: 4 9)",
    )
    bnd.add_argument(
        "--amount",
        type=_whole,
        default=200,
        help=f"synthetic digits to add, at most {MAX_AMOUNT:,} (default: 200)",
    )
    bnd.add_argument(
        "--rule",
        default="conditioning",
        help="labelling rule: conditioning, judge or nearest (default: conditioning)",
    )
    bnd.add_argument(
        "--oddness",
        type=_finite,
        default=0.3,
        help="blend weight toward the next digit, 0 to 0.5 (default: 0.3)",
    )
    bnd.add_argument(
        "--noise-scale",
        type=_finite,
        default=1.0,
        help=f"multiplies the generator's noise, 0 to {MAX_NOISE_SCALE:g} (default: 1)",
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
    bnd.add_argument("--seed", type=_whole, default=0)
    bnd.set_defaults(handler=_cmd_boundaries)

    train = commands.add_parser(
        "train-gan", help="train the conditional GAN and save a checkpoint"
    )
    train.add_argument(
        "--seconds", type=_finite, default=None, help="wall-clock budget, at least 1"
    )
    train.add_argument(
        "--steps",
        type=_whole,
        default=None,
        help=f"step budget (reproducible), at most {MAX_STEPS:,}",
    )
    train.add_argument("--seed", type=_whole, default=0)
    train.add_argument("--data", choices=["auto", "mnist", "embedded"], default=None)
    train.add_argument("--out", required=True, help="checkpoint file to write")
    train.add_argument("--force", action="store_true", help="replace an existing --out")
    train.set_defaults(handler=_cmd_train_gan)

    sample = commands.add_parser(
        "sample", help="draw class-conditional samples into an .npz"
    )
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument(
        "--per-class",
        type=_whole,
        default=100,
        help=f"samples of each digit, at most {MAX_PER_CLASS:,} (default: 100)",
    )
    sample.add_argument("--seed", type=_whole, default=0)
    sample.add_argument("--out", required=True, help=".npz file with images and labels")
    sample.add_argument(
        "--force", action="store_true", help="replace an existing --out"
    )
    sample.set_defaults(handler=_cmd_sample)

    bench = commands.add_parser(
        "bench",
        help=f"print benchmark numbers ({', '.join(BENCHMARK_HELP)})",
        description="Run one benchmark and print its numbers. Timings compare\n"
        "only within one run on one machine, so each runs its baseline alongside.",
        epilog=_benchmark_list(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bench.add_argument("name", metavar="NAME", help="which benchmark (listed below)")
    bench.add_argument(
        "--seconds",
        type=_finite,
        default=None,
        help="a time budget, at least 1 (no benchmark uses one at present)",
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
    belong.add_argument("--seed", type=_whole, default=0)
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


#: Exceptions that mean "the input was wrong", reported without a traceback.
USER_ERRORS = (
    CommandError,
    ValueError,  # includes CorruptCacheError
    TypeError,
    OSError,  # files, folders, permissions, CacheDirError
    RuntimeError,  # includes DataSourceError
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code.

    A wrong input ends with one line on stderr, ``error: ...``, and exit code 2
    (argparse's own code for bad options); ``SYNTHBOOK_DEBUG=1`` shows the
    traceback too.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed its message on stderr
        return int(exit_.code or 0)
    try:
        if args.command != "exercises":
            choose_threads()  # a bad SYNTHBOOK_THREADS is named before any work
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        if os.environ.get("SYNTHBOOK_DEBUG"):
            raise
        print(
            f"error: `{args.command}` ran out of memory; ask for less (for example a "
            f"smaller --per-class or --amount) or close other programs",
            file=sys.stderr,
        )
        return 2
    except USER_ERRORS as err:
        if os.environ.get("SYNTHBOOK_DEBUG"):
            raise
        message = str(err) or type(err).__name__
        if isinstance(err, OSError):
            message = _os_message(err)
        print(f"error: {message}", file=sys.stderr)
        return 2


def _os_message(err: OSError) -> str:
    """One line for a file error: what happened, to which path."""
    if err.filename is None or err.strerror is None:
        return str(err)  # our own messages (e.g. CacheDirError) are complete
    return f"{err.strerror}: {err.filename}"


if __name__ == "__main__":
    raise SystemExit(main())
