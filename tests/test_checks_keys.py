"""The answer keys are a package of their own, and every check cell is one call."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
import tomllib

from synthbook import checks

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "exercises" / "src").glob("[0-9][0-9]_*.md"))
CHECK_CELL = re.compile(
    r"```\{code-cell\} ipython3\n:tags: \[check\]\n\n(.*?)```", re.S
)
TASK = re.compile(r"^## Task (\d+)", re.M)


def test_the_runtime_package_keeps_only_the_primitives() -> None:
    assert not [name for name in dir(checks) if name.startswith("expected_")]
    assert {"check_close", "check_equal", "check_probability"} <= set(checks.__all__)


def test_the_keys_ship_with_the_distribution_under_their_own_name() -> None:
    from setuptools.config.expand import find_packages

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    found = find_packages(
        **config["tool"]["setuptools"]["packages"]["find"], root_dir=str(REPO)
    )
    assert "exercise_keys" in found and "synthbook" in found
    assert not [
        p for p in found if p.split(".")[0] not in ("synthbook", "exercise_keys")
    ]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_each_check_cell_is_one_call_of_its_tasks_key(source: Path) -> None:
    text = source.read_text()
    imported = re.findall(r"^from exercise_keys import (\w+) as key$", text, re.M)
    assert len(imported) == 1, "the set-up cell imports one key module as `key`"
    module = importlib.import_module(f"exercise_keys.{imported[0]}")
    for cell in CHECK_CELL.finditer(text):
        tasks = TASK.findall(text[: cell.start()])
        task = int(tasks[-1])
        body = cell.group(1).strip()
        call = re.fullmatch(rf"key\.check_task_{task}\((.*)\)", body, re.S)
        assert call, f"task {task}: the check cell should be one key call:\n{body}"
        passed = set(re.findall(r"(\w+)=", call.group(1)))
        function = getattr(module, f"check_task_{task}")
        parameters = inspect.signature(function).parameters
        assert all(p.kind is p.KEYWORD_ONLY for p in parameters.values())
        assert passed == set(parameters), (task, passed ^ set(parameters))
        assert "checks." not in body and "expected" not in body
