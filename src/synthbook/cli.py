"""Command line for instructors and scripts: ``python -m synthbook COMMAND``.

Each command is a small function ``_cmd_NAME(args)`` registered in
:func:`build_parser`; the work itself lives in the library modules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_data(args: argparse.Namespace) -> int:
    from synthbook.data import book_splits, load_mnist

    data = load_mnist(args.data)
    splits = book_splits(data, seed=args.seed)
    print(
        f"splits (seed {args.seed}): train {len(splits.train):,}, "
        f"judge {len(splits.judge):,}, test {len(splits.test):,}"
    )
    print("per-class counts in train:", " ".join(str(c) for c in splits.train.class_counts()))
    return 0


def _cmd_exercises(args: argparse.Namespace) -> int:
    from synthbook.exercises import check_generated, find_root, generate

    root = find_root(args.root)
    if args.check:
        problems = check_generated(root)
        for problem in problems:
            print(f"out of date: {problem}", file=sys.stderr)
        if problems:
            print("run `python -m synthbook exercises` and commit the result", file=sys.stderr)
            return 1
        print("exercise notebooks and pages match their sources")
        return 0
    changed = generate(root)
    for path in changed:
        print(f"wrote {path}")
    print(f"{len(changed)} file(s) changed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m synthbook",
        description="Tools for the teaching module 'The Politics of Synthetic Data'.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="load MNIST and say which source and splits are used")
    data.add_argument("--data", choices=["auto", "mnist", "embedded"], default=None,
                      help="MNIST source (default: $SYNTHBOOK_DATA, else auto)")
    data.add_argument("--seed", type=int, default=0)
    data.set_defaults(handler=_cmd_data)

    exercises = commands.add_parser(
        "exercises", help="generate learner and solution notebooks and book pages"
    )
    exercises.add_argument("--check", action="store_true",
                           help="write nothing; exit 1 if generated files differ from sources")
    exercises.add_argument("--root", default=None,
                           help="repository folder (default: found from the current folder)")
    exercises.set_defaults(handler=_cmd_exercises)

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
