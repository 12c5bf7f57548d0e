"""Train the models several chapters share, once, before the book is built.

``python -m synthbook prepare`` (and ``make book``, first) makes each item of
:data:`ITEMS` with exactly the call the chapters make, so the chapters find it
in the model cache (``~/.cache/synthbook``) instead of training it themselves;
a chapter still works, only slower, when ``prepare`` did not run. Each item is
cached by its own ``load_or_train...`` call the moment it is done, so an
interrupted ``prepare`` resumes where it stopped. With ``workers > 1`` (``make
book`` uses 2) the items train in separate processes, one torch thread each;
with one worker they train in this process, each with its own progress bar.

To share another model, add an :class:`Item` whose function makes the call the
chapters make, with the same arguments.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tqdm.auto import tqdm

from synthbook import gan, metrics, tails
from synthbook.cache import CacheDirError, check_writable
from synthbook.data import Splits, book_splits, load_mnist
from synthbook.repro import hide_progress, setup

#: Models made at once by ``make book`` (``python -m synthbook prepare``: one).
WORKERS = 2


def _splits() -> Splits:
    # The chapters' own calls: the default data source, book splits of seed 0.
    setup(seed=0, verbose=False)
    return book_splits(load_mnist(verbose=False), seed=0)


def book_gan(progress: bool = False) -> None:
    """Load or train the book's GAN (``book_gan`` in the chapters)."""
    gan.load_or_train(
        _splits().train,
        gan.GANConfig(),
        steps=gan.BOOK_STEPS,
        seed=0,
        progress=progress,
    )


def judge(progress: bool = False) -> None:
    """Load or train the judge classifier, trained on the judge split."""
    metrics.load_or_train_judge(_splits().judge, seed=0)


#: Seeds of the tails experiment (``TailExperiment().seeds`` in the chapter on
#: variability); seed 0's GAN is also *Too real*'s GAN that saw twelve 8s.
TAIL_SEEDS = (0, 1, 2, 3, 4)


def tail_gan(seed: int) -> Callable[[bool], None]:
    """Return a maker of the GAN trained on the book's long tail for ``seed``."""

    def make(progress: bool = False) -> None:
        tails.load_or_train_tail_gan(_splits().train, seed=seed, progress=progress)

    return make


@dataclass(frozen=True)
class Item:
    """A model several chapters load; ``make`` loads or trains it."""

    name: str
    make: Callable[[bool], None]


ITEMS: tuple[Item, ...] = (
    Item("the book's GAN", book_gan),
    Item("the judge", judge),
    *(Item(f"the tails GAN of seed {seed}", tail_gan(seed)) for seed in TAIL_SEEDS),
)


@dataclass(frozen=True)
class Done:
    """One prepared item: wall time and the peak resident memory of its process."""

    name: str
    seconds: float
    peak_rss_mb: float


def _peak_self_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in bytes on macOS, in kibibytes on Linux; MB here are 10**6 bytes.
    return (peak if sys.platform == "darwin" else peak * 1024) / 1e6


def _make(args: tuple[int, bool]) -> Done:
    index, progress = args
    item = ITEMS[index]
    start = time.perf_counter()
    item.make(progress)
    return Done(item.name, time.perf_counter() - start, _peak_self_rss_mb())


def prepare(*, workers: int = 1, progress: bool = True) -> list[Done]:
    """Load or train every item of :data:`ITEMS`; return what each took.

    Parameters
    ----------
    workers : int, default 1
        Items made at once, each in its own process (1: in this process, with a
        progress bar per model).
    progress : bool, default True
        Show a progress bar.

    Returns
    -------
    list of Done
        In the order the items finished.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    bar = tqdm(
        total=len(ITEMS), desc="prepare", unit="model", disable=hide_progress(progress)
    )
    done: list[Done] = []
    try:
        if workers == 1:
            for index in range(len(ITEMS)):
                done.append(_make((index, progress)))
                bar.update()
        else:
            os.environ.setdefault("SYNTHBOOK_THREADS", "1")
            context = multiprocessing.get_context("spawn")
            jobs = [(index, False) for index in range(len(ITEMS))]
            processes = min(workers, len(jobs))
            with context.Pool(processes, maxtasksperchild=1) as pool:
                for result in pool.imap_unordered(_make, jobs, chunksize=1):
                    done.append(result)
                    bar.set_postfix_str(result.name)
                    bar.update()
    finally:
        bar.close()
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m synthbook.tools.prepare [--workers N] [--quiet]``."""
    parser = argparse.ArgumentParser(
        prog="python -m synthbook.tools.prepare",
        description="Train (or find in the cache) the models several chapters share.",
    )
    parser.add_argument(
        "--data",
        choices=["auto", "mnist", "embedded"],
        default=None,
        help="MNIST source (default: $SYNTHBOOK_DATA, else embedded)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help=f"models made at once, in separate processes (make book: {WORKERS})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.data is not None:
        os.environ["SYNTHBOOK_DATA"] = args.data
    try:
        check_writable()  # the whole point is to fill the cache: fail before any work
    except CacheDirError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    done = prepare(workers=args.workers, progress=not args.quiet)
    for item in done:
        print(f"{item.name}: {item.seconds:.0f} s, peak {item.peak_rss_mb:,.0f} MB")
    names = " and ".join(item.name for item in ITEMS)
    print(f"{names} are in the cache ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
