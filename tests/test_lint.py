"""Linting the code cells of MyST notebooks: problems at their Markdown line, fixes
that leave the Markdown untouched."""

from __future__ import annotations

from pathlib import Path

from myst_pages import MYST_HEADER

from synthbook.tools import lint

REPO = Path(__file__).resolve().parents[1]

PROSE = "A sentence of prose that is much longer than eighty-eight characters " * 2

PAGE = f"""\
{MYST_HEADER}
# A page

{PROSE}

```{{code-cell}} ipython3
import numpy as np
x=np.ones( 3 )
```

More prose.

```{{code-cell}} ipython3
---
mystnb:
  image:
    alt: Nothing.
---
%matplotlib inline
# {("a comment that runs on " * 4).rstrip()}
y = x.sum()
y
```
"""


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "page.md"
    path.write_text(PAGE, encoding="utf-8")
    return path


def test_code_cells_are_found_at_their_lines(tmp_path: Path) -> None:
    cells = lint.code_cells(PAGE)
    lines = PAGE.splitlines()
    assert [lines[c.start] for c in cells] == [
        "import numpy as np",
        "%matplotlib inline",
    ]
    assert ["\n".join(lines[c.start : c.stop]) for c in cells] == [
        c.source for c in cells
    ]


def test_check_reports_code_problems_at_their_markdown_line(tmp_path: Path) -> None:
    path = _write(tmp_path)
    problems = lint.lint_files([path], config=REPO / "pyproject.toml")
    found = {(p.line, p.code) for p in problems}
    lines = PAGE.splitlines()
    cell_line = lines.index("import numpy as np") + 1
    comment_line = (
        next(i for i, s in enumerate(lines) if s.startswith("# a comment")) + 1
    )
    assert (cell_line, "format") in found
    assert (comment_line, "E501") in found
    prose_line = lines.index(PROSE) + 1
    assert all(p.line != prose_line for p in problems), "prose is not code"
    assert path.read_text(encoding="utf-8") == PAGE, "checking changes nothing"


def test_fix_formats_code_cells_and_keeps_everything_else(tmp_path: Path) -> None:
    path = _write(tmp_path)
    left = lint.lint_files([path], fix=True, config=REPO / "pyproject.toml")
    text = path.read_text(encoding="utf-8")
    formatted = "import numpy as np\n\nx = np.ones(3)\n"
    assert formatted in text
    assert text.replace(formatted, "import numpy as np\nx=np.ones( 3 )\n") == PAGE
    assert [p.code for p in left] == ["E501"], "a long comment is rewrapped by hand"
    assert lint.lint_files([path], fix=True, config=REPO / "pyproject.toml") == left
    assert path.read_text(encoding="utf-8") == text, "a second fix changes nothing"


def test_the_default_paths_are_the_chapters_and_the_exercise_sources() -> None:
    files = lint.notebook_files(lint.DEFAULT_PATHS, REPO)
    names = {p.relative_to(REPO).as_posix() for p in files}
    assert "book/too_real.md" in names
    assert "exercises/src/01_meet_the_data.md" in names
    assert not any(name.startswith("book/exercises/") for name in names)
    assert "book/intro.md" not in names  # not a notebook
