"""``python -m synthbook bench --help`` lists every benchmark that ``bench`` runs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from synthbook.tools import bench, cli


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_help_names_the_benchmarks_that_run() -> None:
    assert list(cli.BENCHMARK_HELP) == sorted(bench.BENCHMARKS)


def test_bench_help_gives_each_benchmark_a_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(capsys, "bench")
    listed = text.split("\nbenchmarks:\n", 1)[1]
    described = dict(re.findall(r"^  (\S+)\s+(\S.*)$", listed, re.M))
    assert set(described) == set(bench.BENCHMARKS)
    # Every line of the list fits a terminal of 80 columns.
    assert max(map(len, listed.splitlines())) <= 79
    # The top-level help names every benchmark too.
    top = " ".join(_help(capsys).split())
    assert all(name in top for name in bench.BENCHMARKS)


def test_an_unknown_benchmark_names_the_real_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["bench", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'nonsense'" in err
    assert all(name in err for name in bench.BENCHMARKS)


def test_help_does_not_import_the_benchmarks() -> None:
    # The benchmarks import notebooks, Playwright and more; --help stays quick.
    probe = (
        "import sys; from synthbook.tools import cli; cli.build_parser(); "
        "print('synthbook.tools.bench' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
