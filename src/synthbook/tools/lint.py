"""Lint and format the code cells of the chapters and exercise sources with ruff.

``python -m synthbook.tools.lint`` (``make lint-chapters``) checks every MyST
Markdown notebook in :data:`DEFAULT_PATHS`; ``--fix`` (``make format-chapters``)
formats the code cells and applies ruff's safe fixes in place. Only code cells
are linted: Markdown is not Python, so prose never trips the line-length rule
(piping a whole file through ``jupytext --check`` turns Markdown into comments).

Each file's code cells go into a temporary ``.ipynb`` that ruff reads cell by
cell (imports in one cell count as used in the next; a cell's last expression
is its display); problems are reported at their line in the Markdown file. The
project's ruff settings apply, with :data:`CHAPTER_SETTINGS` on top. A fix
rewrites only the lines of the cells it changed, so the Markdown stays byte for
byte as it was.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from myst_nb.core.read import is_myst_markdown_notebook, read_myst_markdown_notebook

from synthbook.cache import write_atomic

#: The chapters and the exercise sources (the exercise pages in ``book/exercises``
#: are generated from the sources, so they are not linted twice).
DEFAULT_PATHS = ("book/*.md", "exercises/src/*.md")
#: Settings for chapter code on top of the project's: cells of a chapter need no
#: docstrings, and lines stay within 88 characters (STYLE.md), comments included.
CHAPTER_SETTINGS = (
    "lint.extend-ignore = ['D']",
    "lint.pycodestyle.max-line-length = 88",
)


@dataclass(frozen=True)
class CodeCell:
    """A code cell's source and the 0-based line range it fills in its file."""

    source: str
    start: int
    stop: int


@dataclass(frozen=True)
class Problem:
    """One ruff finding, placed in the Markdown file."""

    path: Path
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        path = self.path
        if path.is_absolute() and path.is_relative_to(Path.cwd()):
            path = path.relative_to(Path.cwd())
        return f"{path}:{self.line}:{self.column}: {self.code} {self.message}"


def code_cells(text: str, path: Path | None = None) -> list[CodeCell]:
    """Return the code cells of a MyST Markdown notebook with their line ranges.

    Raises
    ------
    ValueError
        If a cell's code cannot be found in the text (it should not happen).
    """
    nb = read_myst_markdown_notebook(text, add_source_map=True)
    lines = text.splitlines()
    cells = []
    for cell, first in zip(nb.cells, nb.metadata["source_map"], strict=True):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        body = cell.source.splitlines()
        start = next(
            (
                i
                for i in range(first, len(lines) - len(body) + 1)
                if lines[i : i + len(body)] == body
            ),
            None,
        )
        if start is None:
            where = f" in {path}" if path else ""
            raise ValueError(f"cannot find the code cell at line {first + 1}{where}")
        cells.append(CodeCell(cell.source, start, start + len(body)))
    return cells


def notebook_files(paths: Sequence[str | Path], root: Path) -> list[Path]:
    """Return the MyST Markdown notebooks among ``paths`` (files, folders, globs)."""
    found = []
    for entry in map(str, paths):
        path = root / entry
        if any(char in entry for char in "*?["):
            candidates = sorted(root.glob(entry))
        elif path.is_dir():
            candidates = sorted(path.rglob("*.md"))
        else:
            candidates = [path]
        found += [
            p
            for p in candidates
            if is_myst_markdown_notebook(p.read_text(encoding="utf-8"))
        ]
    return found


def _write_notebook(cells: Sequence[CodeCell], target: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(cell.source) for cell in cells],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.write(nb, str(target))


def _ruff(*args: str, config: Path | None) -> subprocess.CompletedProcess[str]:
    options = [] if config is None else ["--config", str(config)]
    for setting in CHAPTER_SETTINGS:
        options += ["--config", setting]
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *options],
        capture_output=True,
        text=True,
        check=False,
    )


def _cell_sources(notebook: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(str(notebook), as_version=4).cells]


def _rewrite(text: str, cells: Sequence[CodeCell], sources: Sequence[str]) -> str:
    lines = text.splitlines(keepends=True)
    for cell, new in sorted(
        zip(cells, sources, strict=True), key=lambda pair: -pair[0].start
    ):
        if new.rstrip("\n") != cell.source:
            lines[cell.start : cell.stop] = [
                line + "\n" for line in new.rstrip("\n").splitlines()
            ]
    return "".join(lines)


def lint_files(
    files: Sequence[Path], *, fix: bool = False, config: Path | None = None
) -> list[Problem]:
    """Lint (and with ``fix``, format and fix) the code cells of ``files``.

    Returns
    -------
    list of Problem
        What is left to fix by hand (with ``fix``), or everything found.
    """
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="synthbook-lint-") as folder:
        staged: dict[Path, tuple[Path, list[CodeCell]]] = {}
        for index, path in enumerate(files):
            cells = code_cells(path.read_text(encoding="utf-8"), path)
            if cells:
                notebook = Path(folder) / f"{index:03d}_{path.stem}.ipynb"
                _write_notebook(cells, notebook)
                staged[notebook] = (path, cells)
        if not staged:
            return []
        names = [str(notebook) for notebook in staged]
        if fix:
            _ruff("check", "--fix", "--quiet", *names, config=config)
            _ruff("format", "--quiet", *names, config=config)
            for notebook, (path, cells) in staged.items():
                text = path.read_text(encoding="utf-8")
                new = _rewrite(text, cells, _cell_sources(notebook))
                if new != text:
                    write_atomic(path, new.encode("utf-8"))
                    print(f"formatted {path}")
            staged = {
                notebook: (path, code_cells(path.read_text(encoding="utf-8"), path))
                for notebook, (path, _) in staged.items()
            }
        else:
            before = {notebook: _cell_sources(notebook) for notebook in staged}
            with tempfile.TemporaryDirectory(prefix="synthbook-format-") as copies:
                copied = []
                for notebook in staged:
                    copy = Path(copies) / notebook.name
                    copy.write_bytes(notebook.read_bytes())
                    copied.append(copy)
                _ruff("format", "--quiet", *map(str, copied), config=config)
                for notebook, copy in zip(staged, copied, strict=True):
                    path, cells = staged[notebook]
                    after = _cell_sources(copy)
                    for cell, old, new in zip(
                        cells, before[notebook], after, strict=True
                    ):
                        if old.rstrip("\n") != new.rstrip("\n"):
                            problems.append(
                                Problem(
                                    path,
                                    cell.start + 1,
                                    1,
                                    "format",
                                    "cell would be reformatted (make format-chapters)",
                                )
                            )
        report = _ruff(
            "check", "--output-format", "json", "--quiet", *names, config=config
        )
        for item in json.loads(report.stdout or "[]"):
            path, cells = staged[Path(item["filename"])]
            cell = cells[item["cell"] - 1]
            problems.append(
                Problem(
                    path,
                    cell.start + item["location"]["row"],
                    item["location"]["column"],
                    item["code"] or "error",
                    item["message"],
                )
            )
    return sorted(problems, key=lambda p: (str(p.path), p.line, p.column))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m synthbook.tools.lint [--fix] [PATH ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m synthbook.tools.lint",
        description="Lint (or with --fix, format) the code cells of MyST notebooks.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        default=list(DEFAULT_PATHS),
        help=f"files or folders (default: {' '.join(DEFAULT_PATHS)})",
    )
    parser.add_argument(
        "--fix", action="store_true", help="format and apply safe fixes in place"
    )
    parser.add_argument(
        "--root", type=Path, default=Path("."), help="repository folder"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    config = root / "pyproject.toml"
    files = notebook_files(args.paths, root)
    problems = lint_files(
        files, fix=args.fix, config=config if config.is_file() else None
    )
    for problem in problems:
        print(problem)
    print(
        f"{len(files)} notebooks: "
        + (f"{len(problems)} problem(s)" if problems else "code cells pass")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
