"""``bench tails``: the variability chapter's tables, recomputed or from cache."""

from __future__ import annotations

import time

from synthbook import stats
from synthbook.repro import setup


def bench_tails(
    seconds: float | None = None, data_source: str | None = None
) -> list[dict]:
    """Run the tails experiment with the book's configuration; print its tables.

    ``seconds`` is not used (the experiment has a fixed size); it is accepted so
    that every benchmark takes the same command-line options.
    """
    from synthbook.chapters import variability

    setup(0)
    experiment = variability.TailExperiment()
    print(experiment)
    started = time.perf_counter()
    rows = variability.run_tail_experiment(experiment, data_source=data_source)
    elapsed = time.perf_counter() - started
    for metric in ("rare_recall", "accuracy"):
        print(f"\n{metric}: mean [95% interval] over {len(experiment.seeds)} seeds")
        for row in stats.summarise(rows, metric):
            print(
                f"  {row['strategy']:>12} +{row['amount']:<4d} {row['mean']:.3f} "
                f"[{row['low']:.3f}, {row['high']:.3f}]"
            )
    most = max(experiment.amounts)
    print(
        f"\nrare_recall minus 'none', paired by seed, +{most} images: mean [95% interval]"
    )
    for strategy in experiment.strategies:
        gain = stats.paired_difference(rows, (strategy, most))
        print(
            f"  {strategy:>12} {gain['mean']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}] "
            f"{gain['verdict']}"
        )
    print(f"\nwall time: {elapsed:.1f} s (cached seeds are read back, not recomputed)")
    return rows
