"""Exercise notebooks: generator, drift, answer checks and task independence."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from myst_pages import MYST_HEADER

from synthbook import checks
from synthbook.tools import exercise_pages as pages
from synthbook.tools import exercises as ex
from synthbook.tools.cli import main
from synthbook.tools.execution import run_notebooks

REPO = Path(__file__).resolve().parents[1]

TINY = (
    MYST_HEADER
    + """
# Exercises: tiny

Intro text.

```{code-cell} ipython3
base = 20
```

## Task 1: Double it

Set `answer` to twice `base`.

```{code-cell} ipython3
:tags: [solution]

# HINT: Multiply by two.
answer = base * 2
```

```{code-cell} ipython3
:tags: [check]

assert answer == 2 * base
```

+++

## Task 2: Say why (open)

Explain.

+++ {"tags": ["solution"]}

<!-- HINT: Think. -->
Because doubling is what was asked.
"""
)


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Path:
    (tmp_path / ex.SOURCE_DIR).mkdir(parents=True)
    (tmp_path / ex.SOURCE_DIR / "01_tiny.md").write_text(TINY, encoding="utf-8")
    return tmp_path


@pytest.fixture
def tiny_nb(tiny_repo: Path) -> nbformat.NotebookNode:
    return pages.read_source(tiny_repo / ex.SOURCE_DIR / "01_tiny.md")


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.metadata.get("tags", []))


# Drift -----------------------------------------------------------------------------------


def test_committed_exercises_match_their_sources(tmp_path: Path) -> None:
    written = ex.generate(REPO, out=tmp_path)
    expected = ex.render_all(REPO)
    assert expected, "no exercise sources found"
    assert sorted(written) == sorted(expected)
    for rel in expected:
        committed = REPO / rel
        assert committed.exists(), (
            f"{rel} is missing: run `python -m synthbook exercises`"
        )
        assert committed.read_text(encoding="utf-8") == (tmp_path / rel).read_text(
            encoding="utf-8"
        ), f"{rel} differs from its source: run `python -m synthbook exercises`"
    assert ex.check_generated(REPO) == []


def test_generated_pages_are_in_the_exercises_part_of_the_toc() -> None:
    yaml = pytest.importorskip("yaml")
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    parts = {part["caption"]: part for part in toc["parts"]}
    listed = {chapter["file"] for chapter in parts["Exercises"]["chapters"]}
    for source in ex.sources(REPO):
        page = (ex.PAGE_DIR / source.stem).as_posix()
        assert page in listed, f"add `- file: {page}` to the Exercises part of _toc.yml"


def test_cli_generates_and_detects_drift(
    tiny_repo: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["exercises", "--root", str(tiny_repo), "--check"]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["exercises", "--root", str(tiny_repo)]) == 0
    assert main(["exercises", "--root", str(tiny_repo), "--check"]) == 0
    assert main(["exercises", "--root", str(tiny_repo)]) == 0
    assert "0 file(s) changed" in capsys.readouterr().out

    learner = tiny_repo / ex.LEARNER_DIR / "01_tiny.ipynb"
    learner.write_text(learner.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert main(["exercises", "--root", str(tiny_repo), "--check"]) == 1
    assert "differs" in capsys.readouterr().err
    ex.generate(tiny_repo)

    shutil.copy(learner, learner.with_name("02_orphan.ipynb"))
    assert main(["exercises", "--root", str(tiny_repo), "--check"]) == 1
    assert "no source" in capsys.readouterr().err


def test_generation_is_deterministic(tiny_repo: Path) -> None:
    first = ex.render_all(tiny_repo)
    second = ex.render_all(tiny_repo)
    assert first == second
    for rel, text in first.items():
        assert text.endswith("\n") and not text.endswith("\n\n")
        if rel.suffix == ".ipynb":
            nb = json.loads(text)
            assert [c["id"] for c in nb["cells"]] == [
                f"cell-{i:02d}" for i in range(len(nb["cells"]))
            ]
            assert all(c.get("outputs", []) == [] for c in nb["cells"])
            assert "jupytext" not in nb["metadata"]
        else:
            assert "jupytext_version" not in text


# Generator -------------------------------------------------------------------------------


def test_learner_placeholder_replaces_the_solution(
    tiny_nb: nbformat.NotebookNode,
) -> None:
    learner = pages.learner_notebook(tiny_nb, "src.md")
    code = [c for c in learner.cells if c.cell_type == "code"]
    placeholder = code[1]
    assert "base * 2" not in placeholder.source
    assert "raise NotImplementedError" in placeholder.source
    assert "# Hint: Multiply by two." in placeholder.source
    assert _tags(placeholder) == [pages.PLACEHOLDER_TAG, pages.RAISES_TAG]
    with pytest.raises(NotImplementedError, match="Task 1 is not answered yet"):
        exec(placeholder.source, {})  # noqa: S102


def test_learner_tags_checks_and_keeps_other_cells(
    tiny_nb: nbformat.NotebookNode,
) -> None:
    learner = pages.learner_notebook(tiny_nb)
    source_cells = list(pages.task_cells(tiny_nb))
    assert len(learner.cells) == len(source_cells)
    for new, old in zip(learner.cells, source_cells, strict=True):
        if old.is_check:
            assert new.source == old.node.source
            assert _tags(new) == [pages.CHECK_TAG, pages.RAISES_TAG]
        elif not old.is_solution:
            assert new.source == old.node.source
            assert new.cell_type == old.node.cell_type
            assert pages.RAISES_TAG not in _tags(new)
    answer = learner.cells[-1]
    assert answer.cell_type == "markdown"
    assert "Because doubling" not in answer.source
    assert "Your answer" in answer.source and "*Hint: Think.*" in answer.source
    assert pages.RAISES_TAG not in _tags(answer)
    assert learner.metadata["synthbook"]["version"] == "learner"


def test_solution_notebook_keeps_answers_without_hints(
    tiny_nb: nbformat.NotebookNode,
) -> None:
    solution = pages.solution_notebook(tiny_nb)
    sources = [c.source for c in solution.cells]
    assert "answer = base * 2" in sources
    assert "Because doubling is what was asked." in sources
    assert not any("HINT" in s for s in sources)
    assert not any(pages.RAISES_TAG in _tags(c) for c in solution.cells)


def test_answered_tasks_keep_their_solutions(tiny_nb: nbformat.NotebookNode) -> None:
    partly = pages.learner_notebook(tiny_nb, answered={1})
    code = [c for c in partly.cells if c.cell_type == "code"]
    assert code[1].source == "answer = base * 2"
    assert pages.RAISES_TAG not in _tags(code[2])
    assert "Your answer" in partly.cells[-1].source


def test_book_page_wraps_tasks_and_hides_solutions(
    tiny_nb: nbformat.NotebookNode,
) -> None:
    page = pages.book_page(
        tiny_nb, "01_tiny", "exercises/src/01_tiny.md", links="LINKS"
    )
    assert page.startswith("---\njupytext:")
    assert "% Generated from exercises/src/01_tiny.md" in page
    assert (
        page.index("# Exercises: tiny")
        < page.index("LINKS")
        < page.index("Intro text.")
    )
    assert page.count("{exercise}") == 2
    assert ":label: ex-tiny-1" in page and ":label: ex-tiny-2" in page
    assert page.count("{solution-start} ex-tiny-") == page.count("{solution-end}") == 2
    assert page.count(":class: dropdown") == 2 + 2  # two solutions, two hints
    assert "Multiply by two." in page and "# HINT" not in page
    assert "answer = base * 2" in page and "Because doubling" in page
    assert "tags:" not in page  # solution/check tags are dropped
    # The solution sits after its exercise and inside the gate.
    start = page.index("{solution-start} ex-tiny-1")
    assert page.index("{exercise}") < start < page.index("answer = base * 2")
    assert page.index("answer = base * 2") < page.index("{solution-end}")


def test_cell_metadata_other_than_tags_is_kept(tiny_nb: nbformat.NotebookNode) -> None:
    setup = tiny_nb.cells[1]
    setup.metadata["mystnb"] = {"image": {"alt": "A digit."}}
    page = pages.book_page(tiny_nb, "01_tiny")
    assert "mystnb:" in page and "alt: A digit." in page
    learner = pages.learner_notebook(tiny_nb)
    assert learner.cells[1].metadata["mystnb"] == {"image": {"alt": "A digit."}}


def test_split_hint() -> None:
    code = nbformat.v4.new_code_cell("# HINT: one\n# HINT: two\n\nx = 1")
    assert pages.split_hint(code) == ("one two", "x = 1")
    assert pages.split_hint(nbformat.v4.new_code_cell("# a comment\nx = 1")) == (
        None,
        "# a comment\nx = 1",
    )
    md = nbformat.v4.new_markdown_cell("<!-- HINT: look\n  closer -->\nText")
    assert pages.split_hint(md) == ("look closer", "Text")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            TINY.replace("Intro text.", "Intro text.\n\n## Task 0: hidden"),
            "must start its own",
        ),
        (
            TINY.replace(
                "```{code-cell} ipython3\nbase = 20",
                "```{code-cell} ipython3\n:tags: [check]\n\nbase = 20",
            ),
            "must follow a task",
        ),
        (TINY.split("## Task 1")[0], "no task found"),
    ],
)
def test_malformed_sources_are_rejected(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "01_bad.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        pages.read_source(path)


def test_find_root(tiny_repo: Path) -> None:
    deep = tiny_repo / "a" / "b"
    deep.mkdir(parents=True)
    assert ex.find_root(deep) == tiny_repo.resolve()
    with pytest.raises(FileNotFoundError, match="exercises/src"):
        ex.find_root(Path("/"))


# Checks ----------------------------------------------------------------------------------


def test_check_close_passes_within_tolerance(capsys: pytest.CaptureFixture) -> None:
    checks.check_close("x", 1.0 + 1e-7, 1.0)
    checks.check_close("means", torch.ones(3, 2), np.ones((3, 2)), rtol=1e-6)
    out = capsys.readouterr().out
    assert out.startswith("✓ x = 1") and "✓ means: all 6 values match" in out


def test_check_close_explains_a_wrong_number() -> None:
    with pytest.raises(AssertionError) as info:
        checks.check_close("threshold", 2.0, 1.0, rtol=0.1, hint="use all images")
    message = str(info.value)
    assert "threshold is 2" in message and "expected value is 1" in message
    assert "Hint: use all images" in message


def test_check_close_points_at_the_worst_element() -> None:
    want = np.zeros((2, 3))
    got = want.copy()
    got[1, 2] = 5.0
    with pytest.raises(
        AssertionError, match=r"1 of 6 values of grid are off.*\(1, 2\)"
    ):
        checks.check_close("grid", got, want)
    with pytest.raises(
        AssertionError, match=r"shape \(3,\).*expected shape is \(2, 3\)"
    ):
        checks.check_close("grid", np.zeros(3), want)
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_close("grid", np.full((2, 3), np.nan), want)


@pytest.mark.parametrize("placeholder", [..., None, NotImplemented])
def test_unanswered_placeholders_get_a_friendly_message(placeholder: object) -> None:
    with pytest.raises(AssertionError, match="has no answer yet"):
        checks.check_close("share", placeholder, 0.5)
    with pytest.raises(AssertionError, match="has no answer yet"):
        checks.check_equal("pair", placeholder, (1, 2))


def test_check_equal_compares_plain_values(capsys: pytest.CaptureFixture) -> None:
    checks.check_equal("pair", [np.int64(4), 9], (4, 9))
    checks.check_equal("count", torch.tensor(300), np.int64(300))
    assert "✓ pair = (4, 9)" in capsys.readouterr().out
    with pytest.raises(
        AssertionError, match=r"pair is \(9, 4\).*expected answer is \(4, 9\)"
    ):
        checks.check_equal("pair", (9, 4), (4, 9), hint="smaller first")


def test_check_shape() -> None:
    checks.check_shape("means", torch.zeros(10, 28, 28), (10, 28, 28))
    with pytest.raises(AssertionError, match=r"means has shape \(28, 28\)"):
        checks.check_shape("means", np.zeros((28, 28)), (10, 28, 28))
    with pytest.raises(AssertionError, match="should be an array"):
        checks.check_shape("means", [1, 2], (2,))


def test_check_in_range_and_probability() -> None:
    checks.check_in_range("accuracy", 0.5, 0.0, 1.0)
    checks.check_probability("shares", np.array([0.2, 0.8]))
    with pytest.raises(AssertionError, match="between 0 and 1, but it is 1.5"):
        checks.check_in_range("share", 1.5, 0.0, 1.0)
    with pytest.raises(AssertionError, match="1 of 2 do not"):
        checks.check_probability("shares", [0.5, -0.1])
    with pytest.raises(AssertionError, match="percentage"):
        checks.check_probability("share", 44.0)


def test_check_choice_explains_the_wrong_option(capsys: pytest.CaptureFixture) -> None:
    feedback = {"a": "too small.", "b": "right."}
    checks.check_choice("pick", " B ", feedback, correct="b")
    assert "✓ pick = 'b': right." in capsys.readouterr().out
    with pytest.raises(AssertionError, match="not the best answer: too small"):
        checks.check_choice("pick", "a", feedback, correct="b")
    with pytest.raises(AssertionError, match="one of a, b"):
        checks.check_choice("pick", "z", feedback, correct="b")


# Running the real exercise notebooks -----------------------------------------------------
#
# Each exercise notebook runs once per role: the learner version (every placeholder
# raises, nothing else fails) and the solution one task at a time (every check passes
# with no other task answered). The two run at once, one torch thread each, against
# the model cache the book build filled (`model_cache`), so nothing is trained twice.
# Together they cover what `pytest --nbval-lax exercises/solutions exercises/learner`
# checked; the book build runs each solution top to bottom as its exercise page.

_RUNS: dict[str, dict[str, tuple[nbformat.NotebookNode, dict]]] = {}


def _exercise_runs(
    name: str, cache: Path
) -> dict[str, tuple[nbformat.NotebookNode, dict]]:
    """The learner and one-task-at-a-time solution runs of one exercise (run once)."""
    if name not in _RUNS:
        source = pages.read_source(REPO / ex.SOURCE_DIR / name)
        solution, roles = _one_task_at_a_time(source)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SYNTHBOOK_CACHE", str(cache))
            learner_run, solution_run = run_notebooks(
                [pages.learner_notebook(source), solution],
                workers=2,
                timeout=600,
                allow_errors=True,
            )
        _RUNS[name] = {
            "learner": (learner_run.nb, {}),
            "solution": (solution_run.nb, roles),
        }
    return _RUNS[name]


def _run(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return run_notebooks([nb], workers=1, timeout=600, allow_errors=True)[0].nb


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [o["ename"] for o in cell.get("outputs", []) if o["output_type"] == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in ex.sources(REPO)])
def test_every_placeholder_raises_in_the_learner_notebook(
    name: str, model_cache: Path
) -> None:
    learner, _ = _exercise_runs(name, model_cache)["learner"]
    for cell in learner.cells:
        if cell.cell_type != "code":
            continue
        if pages.PLACEHOLDER_TAG in _tags(cell):
            assert _errors(cell) == ["NotImplementedError"], cell.source
        elif pages.RAISES_TAG not in _tags(cell):
            assert _errors(cell) == [], cell.source


# Names a solution cell binds are forgotten when its task ends, so that each check runs
# as if no other task were answered; one kernel per notebook instead of one per task.
_SNAPSHOT = (
    "_sb_before = {n: id(v) for n, v in globals().items() if not n.startswith('_')}"
)
_RECORD = """\
import json as _sb_json
_sb_names = globals().setdefault("_sb_solution_names", [])
_sb_new = [n for n in globals() if not n.startswith("_") and n not in _sb_before]
_sb_names.extend(_sb_new)
_sb_rebound = [n for n, i in _sb_before.items() if n in globals() and id(globals()[n]) != i
               and n not in ("In", "Out") and n not in _sb_names]
print("SB-REBOUND:" + _sb_json.dumps(_sb_rebound))"""
_FORGET = """\
for _sb_name in globals().pop("_sb_solution_names", []):
    globals().pop(_sb_name, None)"""


def _one_task_at_a_time(
    source: nbformat.NotebookNode,
) -> tuple[nbformat.NotebookNode, dict]:
    """Every task answered in turn, its solution's names deleted before the next task."""
    cells, roles, task = [], {}, 0
    for cell in pages.task_cells(source):
        if cell.task != task:
            task = cell.task
            cells.append(nbformat.v4.new_code_cell(_FORGET))
        node = copy.deepcopy(cell.node)
        if cell.is_solution and node.cell_type == "code":
            node.source = pages.split_hint(node)[1]
            cells.append(nbformat.v4.new_code_cell(_SNAPSHOT))
            cells.append(node)
            roles[len(cells)] = ("record", task)
            cells.append(nbformat.v4.new_code_cell(_RECORD))
            continue
        if cell.is_check:
            roles[len(cells)] = ("check", task)
        cells.append(node)
    return nbformat.v4.new_notebook(cells=cells, metadata=source.metadata), roles


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in ex.sources(REPO)])
def test_each_task_can_be_checked_when_no_other_task_is_answered(
    name: str, model_cache: Path
) -> None:
    source = pages.read_source(REPO / ex.SOURCE_DIR / name)
    ran, roles = _exercise_runs(name, model_cache)["solution"]
    failing = [c.source for c in ran.cells if c.cell_type == "code" and _errors(c)]
    assert failing[:1] == [], "this cell of the solution fails (set-up or a task)"
    checked = set()
    for index, (role, task) in roles.items():
        cell = ran.cells[index]
        text = "".join(
            o.get("text", "") for o in cell.outputs if o["output_type"] == "stream"
        )
        assert _errors(cell) == [], (
            f"task {task}: this cell fails on its own:\n{cell.source}"
        )
        if role == "check":
            assert "✓" in text, f"the check of task {task} printed no ✓:\n{cell.source}"
            checked.add(task)
        else:
            rebound = json.loads(text.split("SB-REBOUND:", 1)[1])
            assert rebound == [], (
                f"task {task}'s solution rebinds {rebound}, which the set-up or an earlier "
                "cell defined: a learner's later tasks would see its values, not the set-up's"
            )
    expected = {c.task for c in pages.task_cells(source) if c.is_check}
    assert checked == expected


DEPENDENT = (
    TINY.split("## Task 2")[0]
    + """\
## Task 2: Triple it, then clobber

Set `triple` to three times `base`.

```{code-cell} ipython3
:tags: [solution]

triple = answer + base
base = 0
```

```{code-cell} ipython3
:tags: [check]

assert triple == 3 * 20
```
"""
)


@pytest.mark.slow
def test_the_one_task_at_a_time_run_catches_dependent_and_clobbering_solutions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "01_dependent.md"
    path.write_text(DEPENDENT, encoding="utf-8")
    nb, roles = _one_task_at_a_time(pages.read_source(path))
    ran = _run(nb)
    by_role = {(role, task): ran.cells[index] for index, (role, task) in roles.items()}
    assert _errors(by_role["check", 1]) == []
    # Task 2's solution uses `answer`, which only Task 1's solution defines.
    assert _errors(by_role["record", 2]) == [] and _errors(by_role["check", 2]) == [
        "NameError"
    ]
    fixed = DEPENDENT.replace("triple = answer + base", "triple = 3 * base")
    path.write_text(fixed, encoding="utf-8")
    nb, roles = _one_task_at_a_time(pages.read_source(path))
    ran = _run(nb)
    record = next(ran.cells[i] for i, role in roles.items() if role == ("record", 2))
    assert 'SB-REBOUND:["base"]' in "".join(o.get("text", "") for o in record.outputs)
