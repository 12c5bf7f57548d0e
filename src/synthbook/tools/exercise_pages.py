"""The three versions of one exercise source: solution, learner notebook, book page.

A source is a MyST Markdown notebook ``exercises/src/NN_topic.md`` (read with
:func:`read_source`); :func:`solution_notebook`, :func:`learner_notebook` and
:func:`book_page` derive the versions from it, without touching the disk.
:mod:`synthbook.tools.exercises` decides where they go and writes them.

Conventions in a source notebook
--------------------------------
* A markdown cell whose first line is ``## Task ...`` states a task. Cells up
  to the next task heading belong to that task; cells before the first one are
  set-up that every version keeps.
* A cell tagged ``solution`` is an answer. In the learner notebook a code
  answer becomes a cell that raises :class:`NotImplementedError`; a markdown
  answer becomes an empty "your answer" cell. A solution may start with a hint:
  leading ``# HINT: ...`` comment lines (code) or ``<!-- HINT: ... -->``
  (markdown). The hint is shown in the placeholder and in the book, not in the
  solution notebook.
* A code cell tagged ``check`` calls its task's answer key
  (``exercises/exercise_keys/<chapter>.py``).

In the learner notebook, placeholder cells and check cells carry the
``raises-exception`` tag: ``pytest --nbval-lax`` then accepts exactly those
cells failing, and JupyterLab's "Run All" does not stop at an unanswered task.
A check must only use what its own task defines or the set-up cells provide,
so that a learner stuck on one task can still check the next;
:func:`learner_notebook` with ``answered=`` builds the notebooks that test this.

Every version is deterministic (fixed cell ids, no outputs, sorted JSON, no
tool versions), so the committed files can be compared byte for byte.
"""

from __future__ import annotations

import copy
import re
import textwrap
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from nbformat import NotebookNode

SOLUTION_TAG = "solution"
CHECK_TAG = "check"
PLACEHOLDER_TAG = "placeholder"
RAISES_TAG = "raises-exception"

TASK_HEADING = re.compile(r"^##\s+(Task\b.*)$")
_CODE_HINT = re.compile(r"^#\s*HINT:\s*(.*)$")
_MD_HINT = re.compile(r"^\s*<!--\s*HINT:\s*(.*?)\s*-->\s*\n?", re.DOTALL)

_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
_LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
_DO_NOT_EDIT = (
    "Generated from {source} by `python -m synthbook exercises`: edit the source."
)


@dataclass(frozen=True)
class Cell:
    """A source cell with the task it belongs to (0 for the set-up before any task)."""

    task: int
    node: NotebookNode

    @property
    def tags(self) -> list[str]:
        """The cell's tags."""
        return list(self.node.metadata.get("tags", []))

    @property
    def is_solution(self) -> bool:
        """Whether the cell is an answer."""
        return SOLUTION_TAG in self.tags

    @property
    def is_check(self) -> bool:
        """Whether the cell checks an answer."""
        return CHECK_TAG in self.tags


# Reading a source ------------------------------------------------------------------------


def read_source(path: str | Path) -> NotebookNode:
    """Read a MyST Markdown source notebook with jupytext and validate its conventions.

    Raises
    ------
    ValueError
        If a task heading is not at the start of a markdown cell, a check or
        solution sits before the first task, a check cell is not code, or the
        source has no task.
    """
    path = Path(path)
    nb = jupytext.read(path, fmt="md:myst")
    cells = list(task_cells(nb))
    where = f"in {path.name}"
    for index, cell in enumerate(cells):
        lines = cell.node.source.splitlines()
        if cell.node.cell_type == "markdown":
            late = [line for line in lines[1:] if TASK_HEADING.match(line)]
            if late:
                raise ValueError(
                    f"{where}, cell {index}: the heading {late[0]!r} must start its own "
                    "markdown cell; put a line '+++' before it"
                )
        if cell.task == 0 and (cell.is_solution or cell.is_check):
            raise ValueError(
                f"{where}, cell {index}: solutions and checks must follow a task"
            )
        if cell.is_check and cell.node.cell_type != "code":
            raise ValueError(
                f"{where}, cell {index}: only code cells can be tagged 'check'"
            )
        if cell.is_check and cell.is_solution:
            raise ValueError(
                f"{where}, cell {index}: a cell cannot be both solution and check"
            )
    if not any(cell.task for cell in cells):
        raise ValueError(
            f"{where}: no task found; start a markdown cell with '## Task 1: ...'"
        )
    return nb


def task_cells(nb: NotebookNode) -> Iterator[Cell]:
    """Yield every cell with the number of the task it belongs to."""
    task = 0
    for node in nb.cells:
        if node.cell_type == "markdown" and TASK_HEADING.match(
            node.source.split("\n", 1)[0]
        ):
            task += 1
        yield Cell(task, node)


def split_hint(cell: NotebookNode) -> tuple[str | None, str]:
    """Separate a solution's leading hint from its body.

    Returns
    -------
    (hint, body) : tuple
        ``hint`` is ``None`` when the cell has none.
    """
    if cell.cell_type == "markdown":
        match = _MD_HINT.match(cell.source)
        if not match:
            return None, cell.source
        return " ".join(match.group(1).split()), cell.source[match.end() :].lstrip("\n")
    lines = cell.source.splitlines()
    hint_lines: list[str] = []
    while lines and (match := _CODE_HINT.match(lines[0])):
        hint_lines.append(match.group(1))
        lines.pop(0)
    hint = " ".join(" ".join(hint_lines).split()) or None
    return hint, "\n".join(lines).lstrip("\n")


# The three outputs -----------------------------------------------------------------------


def _new_notebook(cells: list[NotebookNode], source: str, version: str) -> NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(_KERNELSPEC),
        "language_info": dict(_LANGUAGE_INFO),
        "synthbook": {"generated_from": source, "version": version},
    }
    clean = []
    for index, cell in enumerate(cells):
        # Keep cell metadata (e.g. ``mystnb`` figure options), with tags de-duplicated.
        metadata = copy.deepcopy(dict(cell.metadata))
        tags = list(dict.fromkeys(metadata.pop("tags", [])))
        if tags:
            metadata["tags"] = tags
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source, metadata=metadata)
        else:
            new = nbformat.v4.new_markdown_cell(cell.source, metadata=metadata)
        new.id = f"cell-{index:02d}"
        clean.append(new)
    nb.cells = clean
    nbformat.validate(nb)
    return nb


def _with_tags(
    cell: NotebookNode, remove: Collection[str], add: Collection[str]
) -> NotebookNode:
    new = copy.deepcopy(cell)
    tags = [tag for tag in new.metadata.get("tags", []) if tag not in remove]
    tags += [tag for tag in add if tag not in tags]
    new.metadata["tags"] = tags
    return new


def solution_notebook(nb: NotebookNode, source: str = "") -> NotebookNode:
    """Return the solution notebook: every cell, with hints removed from solutions."""
    cells = []
    for cell in task_cells(nb):
        node = copy.deepcopy(cell.node)
        if cell.is_solution:
            node.source = split_hint(node)[1]
        cells.append(node)
    return _new_notebook(cells, source, "solution")


def placeholder(cell: NotebookNode, task: int) -> NotebookNode:
    """Return the learner's version of a solution cell.

    A code cell becomes a comment with the hint and a ``raise NotImplementedError``;
    a markdown cell becomes an empty answer with the hint.
    """
    hint, _ = split_hint(cell)
    if cell.cell_type == "markdown":
        text = "**Your answer** (double-click this cell to write in it):\n"
        if hint:
            text += f"\n*Hint: {hint}*\n"
        new = nbformat.v4.new_markdown_cell(text.rstrip("\n"))
        new.metadata["tags"] = [PLACEHOLDER_TAG]
        return new
    lines = [f"# Task {task}: replace this cell with your code."]
    if hint:
        lines += textwrap.wrap(
            f"Hint: {hint}", 88, initial_indent="# ", subsequent_indent="# "
        )
    message = f"Task {task} is not answered yet: write your code in this cell" + (
        " (see the hint above)." if hint else "."
    )
    lines.append(f"raise NotImplementedError({message!r})")
    new = nbformat.v4.new_code_cell("\n".join(lines))
    keep = [t for t in cell.metadata.get("tags", []) if t != SOLUTION_TAG]
    new.metadata["tags"] = [*keep, PLACEHOLDER_TAG, RAISES_TAG]
    return new


def learner_notebook(
    nb: NotebookNode,
    source: str = "",
    *,
    answered: Collection[int] = (),
    first: str | None = None,
) -> NotebookNode:
    """Return the learner notebook: solutions replaced by placeholders.

    Parameters
    ----------
    nb : NotebookNode
        The source notebook.
    source : str
        Path of the source, recorded in the notebook's metadata.
    answered : collection of int
        Tasks whose solutions are kept (for tests: a learner who answered only
        these tasks). Their check cells lose the ``raises-exception`` tag.
    first : str, optional
        A code cell put before all others (the generated files: :func:`install_cell`).
    """
    cells = [nbformat.v4.new_code_cell(first)] if first else []
    for cell in task_cells(nb):
        if cell.task in answered:
            node = copy.deepcopy(cell.node)
            if cell.is_solution:
                node.source = split_hint(node)[1]
            cells.append(node)
        elif cell.is_solution:
            cells.append(placeholder(cell.node, cell.task))
        elif cell.is_check:
            cells.append(_with_tags(cell.node, remove=(), add=(RAISES_TAG,)))
        else:
            cells.append(cell.node)
    return _new_notebook(cells, source, "learner")


def _fence(text: str) -> str:
    """Return a backtick fence longer than any inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    return "`" * max(4, longest + 1)


def _slug(stem: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"^\d+_", "", stem).lower()).strip("-")


def book_page(nb: NotebookNode, stem: str, source: str = "", links: str = "") -> str:
    """Return the MyST Markdown book page for one exercise notebook.

    Each task statement goes into an ``exercise`` directive (labelled
    ``ex-<topic>-<n>``) with the hints in a dropdown; consecutive solution and
    check cells go between ``solution-start`` and ``solution-end`` (class
    ``dropdown``), so the book executes them and shows the checks' output only
    when a reader opens the solution. Other cells are copied unchanged.

    Parameters
    ----------
    nb : NotebookNode
        The source notebook.
    stem : str
        File name without extension, e.g. ``"01_meet_the_data"``.
    source : str
        Path of the source, named in a comment at the top of the page.
    links : str
        Markdown inserted after the title (e.g. links to the learner notebook).
    """
    cells = list(task_cells(nb))
    hints: dict[int, list[str]] = {}
    for cell in cells:
        hint = split_hint(cell.node)[0] if cell.is_solution else None
        if hint:
            hints.setdefault(cell.task, []).append(hint)

    out: list[NotebookNode] = []
    in_solution = False
    titled = False

    def close() -> None:
        nonlocal in_solution
        if in_solution:
            out.append(nbformat.v4.new_markdown_cell("````{solution-end}\n````"))
            in_solution = False

    for cell in cells:
        node = cell.node
        if node.cell_type == "markdown" and TASK_HEADING.match(
            node.source.split("\n", 1)[0]
        ):
            close()
            heading, _, body = node.source.partition("\n")
            label = f"ex-{_slug(stem)}-{cell.task}"
            body = body.strip("\n")
            for hint in hints.get(cell.task, []):
                body += f"\n\n```{{hint}}\n:class: dropdown\n{hint}\n```"
            fence = _fence(body)
            out.append(nbformat.v4.new_markdown_cell(heading))
            out.append(
                nbformat.v4.new_markdown_cell(
                    f"{fence}{{exercise}}\n:label: {label}\n:nonumber:\n\n{body}\n{fence}"
                )
            )
            continue
        if cell.is_solution or cell.is_check:
            if not in_solution:
                label = f"ex-{_slug(stem)}-{cell.task}"
                out.append(
                    nbformat.v4.new_markdown_cell(
                        f"````{{solution-start}} {label}\n:class: dropdown\n````"
                    )
                )
                in_solution = True
            new = copy.deepcopy(node)
            if cell.is_solution:
                new.source = split_hint(new)[1]
            out.append(_with_tags(new, remove=(SOLUTION_TAG, CHECK_TAG), add=()))
            continue
        close()
        new = copy.deepcopy(node)
        if not titled and node.cell_type == "markdown" and node.source.startswith("# "):
            title, _, rest = new.source.partition("\n")
            comment = f"% {_DO_NOT_EDIT.format(source=source)}" if source else ""
            new.source = "\n\n".join(
                p for p in (comment, title, links, rest.strip("\n")) if p
            )
            titled = True
        out.append(new)
    close()

    page = _new_notebook(out, source, "book")
    page.metadata = {
        "jupytext": {
            "text_representation": {
                "extension": ".md",
                "format_name": "myst",
                "format_version": 0.13,
            }
        },
        "kernelspec": dict(_KERNELSPEC),
        "language_info": dict(_LANGUAGE_INFO),
    }
    for node in page.cells:
        if not node.metadata.get("tags"):
            node.metadata.pop("tags", None)
    text = jupytext.writes(page, fmt="md:myst")
    # The jupytext version would make the page differ between environments.
    text = re.sub(r"(?m)^\s*jupytext_version:.*\n", "", text)
    return text.rstrip("\n") + "\n"


def notebook_json(nb: NotebookNode) -> str:
    """Serialise a notebook deterministically (sorted keys, one-space indent, final newline)."""
    return jupytext.writes(nb, fmt="ipynb").rstrip("\n") + "\n"
