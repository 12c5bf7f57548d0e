"""The book build: what it executes, when a cached run is stale, and that it never
publishes a failure."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from myst_pages import MYST_HEADER

from synthbook.tools import build as bld
from synthbook.tools.inputs import (
    imported_names,
    inputs_key,
    module_closure,
    package_dirs,
)

REPO = Path(__file__).resolve().parents[1]


def _page(title: str, *cells: str) -> str:
    body = "".join(f"\n```{{code-cell}} ipython3\n{cell}\n```\n" for cell in cells)
    return f"{MYST_HEADER}\n# {title}\n{body}"


def _notebook(*cells: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


# Which inputs a cached run depends on ----------------------------------------------------


def test_imported_names_reads_ipython_cells_and_relative_imports() -> None:
    cell = (
        "%matplotlib inline\n!ls\nimport numpy as np\nfrom synthbook import gan, stats"
    )
    assert imported_names(cell) == {
        "numpy",
        "synthbook",
        "synthbook.gan",
        "synthbook.stats",
    }
    module = "from .. import gan\nfrom .geometry import plane\nimport os"
    assert imported_names(module, "synthbook.chapters.power") == {
        "synthbook",
        "synthbook.gan",
        "synthbook.chapters.geometry",
        "synthbook.chapters.geometry.plane",
        "os",
    }
    assert imported_names("from . import x", "synthbook.chapters", package=True) == {
        "synthbook.chapters",
        "synthbook.chapters.x",
    }


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A small stand-in for the synthbook package, with a chapter subpackage."""
    root = tmp_path / "synthbook"
    (root / "chapters").mkdir(parents=True)
    files = {
        "__init__.py": '"""The package."""\n',
        "cache.py": "KEY = 1\n",
        "gan.py": "from synthbook.cache import KEY\n\ndef train():\n    return KEY\n",
        "plotting.py": "COLOURS = ['#000']\n",
        "chapters/__init__.py": "",
        "chapters/too_real.py": "from .. import gan\n\ndef run():\n"
        "    from synthbook import stats  # noqa\n    return gan.train()\n",
        "stats.py": "def mean(x):\n    return sum(x) / len(x)\n",
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_module_closure_follows_imports_function_local_ones_too(package: Path) -> None:
    found = module_closure({"synthbook.chapters.too_real"}, {"synthbook": package})
    assert sorted(found) == [
        "synthbook",
        "synthbook.cache",
        "synthbook.chapters",
        "synthbook.chapters.too_real",
        "synthbook.gan",
        "synthbook.stats",
    ]


def test_inputs_key_changes_with_the_code_a_notebook_imports_and_nothing_else(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _notebook("import numpy as np", "from synthbook.chapters import too_real")
    packages = {"synthbook": package}
    key = inputs_key(nb, packages)
    assert len(key) == 20 and inputs_key(nb, packages) == key

    cache = package / "cache.py"
    cache.write_text("# a comment\nKEY = 1  # the key\n", encoding="utf-8")
    assert inputs_key(nb, packages) == key, "comments are not code"
    (package / "plotting.py").write_text("COLOURS = ['#fff']\n", encoding="utf-8")
    assert inputs_key(nb, packages) == key, "the notebook does not import plotting"

    cache.write_text("KEY = 2\n", encoding="utf-8")
    changed = inputs_key(nb, packages)
    assert changed != key, "gan imports cache: a change there changes the outputs"
    (package / "chapters" / "panel.js").write_text("draw();\n", encoding="utf-8")
    assert inputs_key(nb, packages) != changed, "files a package ships count too"

    before = inputs_key(nb, packages)
    monkeypatch.setenv("SYNTHBOOK_DATA", "mnist")
    assert inputs_key(nb, packages) != before, "another data source, other numbers"


def test_answer_keys_count_as_inputs_of_the_exercise_pages(
    package: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "exercise_keys"
    keys.mkdir()
    (keys / "__init__.py").write_text("", encoding="utf-8")
    (keys / "meet.py").write_text("from synthbook import cache\nN = 1\n", "utf-8")
    packages = {"synthbook": package, "exercise_keys": keys}
    nb = _notebook("from exercise_keys import meet as key")
    assert "synthbook.cache" in module_closure({"exercise_keys.meet"}, packages)
    key = inputs_key(nb, packages)
    (keys / "meet.py").write_text("from synthbook import cache\nN = 2\n", "utf-8")
    assert inputs_key(nb, packages) != key


def test_the_real_packages_are_found_where_they_are_installed() -> None:
    found = package_dirs()
    assert (found["synthbook"] / "gan" / "train.py").is_file()
    assert (found["exercise_keys"] / "meet_the_data.py").is_file()


def test_a_cached_run_with_other_inputs_is_removed_and_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "one.md"
    page.write_text(_page("One", "x = 1"), encoding="utf-8")
    notebook = bld.Notebook("one", page)
    cache = get_cache(str(tmp_path / "cache"))
    nb = bld.read_notebook(notebook)
    cache.cache_notebook_bundle(
        CacheBundleIn(nb, str(page), data={bld.INPUTS_FIELD: inputs_key(nb)}),
        check_validity=False,
    )
    cached, to_run = bld.plan(cache, [notebook])
    assert [e.docname for e in cached] == ["one"] and to_run == []

    monkeypatch.setattr(bld, "inputs_key", lambda nb: "the package changed")
    cached, to_run = bld.plan(cache, [notebook])
    assert cached == [] and to_run == [notebook]
    with pytest.raises(KeyError):  # gone, so myst-nb cannot use it either
        cache.match_cache_notebook(nb)


def test_book_notebooks_are_the_toc_pages_that_are_notebooks() -> None:
    notebooks = bld.book_notebooks(REPO)
    names = [nb.docname for nb in notebooks]
    assert "book/what_are_synthetic_data" in names
    assert "book/exercises/01_meet_the_data" in names
    assert "book/intro" not in names and "book/bibliography" not in names
    assert all(nb.path.is_file() and nb.path.suffix == ".md" for nb in notebooks)


def test_the_build_keys_every_notebook_as_myst_nb_does_inside_sphinx(
    tmp_path: Path,
) -> None:
    """The build reads notebooks with jupyter-cache's reader; Sphinx with the book's
    MyST settings. Both must give the same cache key, or myst-nb would execute each
    chapter again, one at a time."""
    from jupyter_book.config import get_final_config
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    config, _ = get_final_config(
        user_yaml=REPO / "_config.yml",
        sourcedir=REPO,
        cli_config={"latex_individualpages": False},
    )
    md_config = MdParserConfig(
        enable_extensions=set(config["myst_enable_extensions"]),
        url_schemes=config["myst_url_schemes"],
    )
    cache = get_cache(str(tmp_path / "cache"))
    notebooks = bld.book_notebooks(REPO)
    assert notebooks
    for notebook in notebooks:
        text = notebook.path.read_text(encoding="utf-8")
        in_sphinx = read_myst_markdown_notebook(
            text, config=md_config, add_source_map=True, path=notebook.path
        )
        _, ours = cache.create_hashed_notebook(bld.read_notebook(notebook))
        _, theirs = cache.create_hashed_notebook(in_sphinx)
        assert ours == theirs, notebook.docname


def test_a_toc_page_without_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: missing\n", encoding="utf-8"
    )
    (tmp_path / "intro.md").write_text("# Intro\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="'missing'"):
        bld.book_notebooks(tmp_path)


def test_tests_run_offline() -> None:
    with pytest.raises(ConnectionRefusedError, match="tests run offline"):
        socket.create_connection(("example.org", 80), timeout=5)
    with socket.socket() as server:  # loopback still works (local servers, kernels)
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=5).close()


# The whole build, on a tiny copy of the book ---------------------------------------------


def _tiny_book(root: Path, pages: dict[str, str]) -> None:
    for name in ("_config.yml", "_ext", "_static", "book/references.bib"):
        source, target = REPO / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    vendor = REPO / "_vendor"
    if vendor.is_dir():
        (root / "_vendor").symlink_to(vendor.resolve())
    else:
        (root / "_vendor").mkdir()
    (root / "book" / "intro.md").write_text(
        "# A tiny book\n\n```{build-stats}\n```\n", encoding="utf-8"
    )
    _toc(root, pages)


def _toc(root: Path, pages: dict[str, str]) -> None:
    lines = ["format: jb-book", "root: book/intro", "chapters:"]
    for name, text in pages.items():
        (root / "book" / f"{name}.md").write_text(text, encoding="utf-8")
        lines.append(f"  - file: book/{name}")
    (root / "_toc.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _statuses(root: Path) -> dict[str, str]:
    report = json.loads((root / "_build" / "execution.json").read_text("utf-8"))
    return {entry["docname"]: entry["status"] for entry in report}


@pytest.mark.slow
def test_a_broken_chapter_fails_every_build_until_it_is_fixed(
    tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    good = _page("Good", "from synthbook.versions import source_version", "1 + 1")
    broken = _page("Broken", "x = 1", "raise RuntimeError('broken on purpose')")
    _tiny_book(tmp_path, {"good": good, "broken": broken})

    for attempt in (1, 2):
        assert bld.build(tmp_path, prepare=False) == 1, f"build {attempt} passed"
        err = capfd.readouterr().err
        assert "book/broken: RuntimeError: broken on purpose" in err
        assert "the book was not built" in err
        assert not (tmp_path / "_build" / "html").exists()
        log = tmp_path / "_build" / "reports" / "book" / "broken.err.log"
        assert "broken on purpose" in log.read_text(encoding="utf-8")
        assert _statuses(tmp_path) == {
            "book/good": "executed" if attempt == 1 else "cached",
            "book/broken": "failed",
        }

    # Fixed, plus a page whose error output is allowed by a tag: executing passes,
    # but a page that shows a traceback is not published either.
    fixed = _page("Broken", "x = 1", "print(x)")
    shown = _page("Shown", ":tags: [raises-exception]\n\n1 / 0")
    _toc(tmp_path, {"good": good, "broken": fixed, "shown": shown})
    assert bld.build(tmp_path, prepare=False) == 1
    captured = capfd.readouterr()
    assert "book/shown.html shows an error output" in captured.err
    assert "book/broken.html" not in captured.err

    _toc(tmp_path, {"good": good, "broken": fixed})
    assert bld.build(tmp_path, prepare=False) == 0
    captured = capfd.readouterr()
    assert _statuses(tmp_path) == {"book/good": "cached", "book/broken": "cached"}
    # myst-nb found every run in the cache: it executed nothing itself.
    assert "Using cached notebook" in captured.out
    assert "Executing notebook" not in captured.out
    html = tmp_path / "_build" / "html"
    assert bld.pages_with_errors(html) == {}
    assert "RuntimeError" not in (html / "book" / "broken.html").read_text("utf-8")
    # The intro page's `{build-stats}` table: run time, peak memory, the CUDA
    # libraries' part and the peak with a CPU-only torch, measured and explained.
    intro = (html / "book" / "intro.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", intro, re.DOTALL)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL) for row in rows]
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in row] for row in cells if row]
    assert [row[0] for row in cells] == ["Good", "Broken"]
    for row in cells:
        seconds, peak, cuda, cpu = (float(c.replace(",", "")) for c in row[1:])
        assert seconds >= 0 and peak > 10
        assert 0 < cpu <= peak and cpu + cuda <= peak + 1
    assert "what the kernel needs with the CPU-only torch" in intro or (
        "built with a CPU-only torch" in intro
    )


# The book as built by `make book` --------------------------------------------------------


def test_no_built_page_shows_an_error_or_a_traceback() -> None:
    html = REPO / "_build" / "html"
    if not (html / "index.html").exists():
        pytest.skip("the book is not built: run `make book` (make test does)")
    notebooks = bld.book_notebooks(REPO)
    missing = [
        nb.docname for nb in notebooks if not (html / f"{nb.docname}.html").exists()
    ]
    assert missing == [], "pages of the table of contents were not built"
    assert bld.pages_with_errors(html) == {}


# The build benchmark ---------------------------------------------------------------------


@pytest.mark.slow
def test_bench_build_times_each_notebook_and_measures_its_kernel_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from synthbook.tools.bench import build as bench

    big = _page("Big", "import numpy as np\nx = np.ones(50_000_000)  # 400 MB\nx.sum()")
    small = _page("Small", "import time\ntime.sleep(1.5)")
    _tiny_book(tmp_path, {"big": big, "small": small})
    (tmp_path / "exercises" / "src").mkdir(parents=True)
    monkeypatch.setattr(bench, "prepare", lambda **kwargs: [])
    monkeypatch.setattr(bench, "PEAK_MB", 300.0)
    monkeypatch.setattr(bench, "CPU_PEAK_MB", 250.0)

    runs = bench.bench_build(tmp_path, html=False)
    by_name = {run.docname: run for run in runs}
    assert set(by_name) == {"book/big", "book/small"}
    big_peak = by_name["book/big"].peak_rss_mb
    small_peak = by_name["book/small"].peak_rss_mb
    assert big_peak - small_peak == pytest.approx(400, abs=40), "the kernel's own peak"
    assert by_name["book/small"].seconds >= 1.5
    out = capsys.readouterr().out
    assert "load average" in out and "total" in out
    big_line = next(line for line in out.splitlines() if line.startswith("book/big"))
    assert "over 300 MB here" in big_line
    assert "over 250 MB with CPU-only torch" in big_line, "numpy only: no CUDA part"
    assert "(cell 1: import numpy as np" in big_line, "the cell that held the peak"


@pytest.mark.slow
def test_a_kernel_that_dies_is_a_failed_run_not_a_crash() -> None:
    from synthbook.tools.execution import run_notebooks

    died, fine = run_notebooks(
        [_notebook("import os\nos._exit(1)"), _notebook("print('fine')")], workers=2
    )
    assert died.error is not None and died.error.startswith("DeadKernelError")
    assert fine.error is None
    assert fine.nb.cells[0].outputs[0]["text"] == "fine\n"
