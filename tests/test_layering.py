"""The package's layers hold: core <- chapters <- tools, and no private cross-calls.

Read from the source with ``ast`` (nothing is imported), so a violation is
reported with its file and line whatever the import would do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "synthbook"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
MAX_LINES = 520  # "no file over about 500 lines"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    if module == "synthbook.__main__":  # ``python -m synthbook``: the command line
        return "tools"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("chapters", "tools"):
        return parts[1]
    return "core"


def _chapter(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "chapters" else None


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if name.startswith("synthbook")]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_no_import_from_a_higher_layer_or_another_chapter(path: Path) -> None:
    here = _module_name(path)
    wrong = []
    for line, name in _imports(path):
        if _layer(here) == "core" and _layer(name) != "core":
            wrong.append(f"line {line}: core module imports {name}")
        if _layer(here) == "chapters" and _layer(name) == "tools":
            wrong.append(f"line {line}: chapter module imports the tool {name}")
        if _chapter(here) and _chapter(name) and _chapter(name) != _chapter(here):
            wrong.append(f"line {line}: chapter {here} imports chapter {name}")
    assert not wrong, f"{path.relative_to(PACKAGE.parent)}:\n" + "\n".join(wrong)


def _bound_modules(tree: ast.Module) -> dict[str, str]:
    """Names bound to synthbook modules (``from synthbook import gan`` -> gan)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("synthbook"):
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("synthbook") and alias.asname:
                    names[alias.asname] = alias.name
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_no_call_to_another_modules_private_names(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound = _bound_modules(tree)
    wrong = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            wrong.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "synthbook"
        ):
            wrong += [
                f"line {node.lineno}: from {node.module} import {a.name}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
    assert not wrong, f"{path.relative_to(PACKAGE.parent)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_no_module_is_much_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines"


def test_the_layering_test_sees_a_violation(tmp_path: Path) -> None:
    # The checks above must be able to fail: a core module importing a chapter.
    assert _layer("synthbook.gan") == "core"
    assert _layer("synthbook.chapters.too_real.x") == "chapters"
    assert _chapter("synthbook.chapters.too_real") == "too_real"
    sample = tmp_path / "m.py"
    sample.write_text("from synthbook.chapters import too_real\nimport synthbook.gan\n")
    assert [name for _, name in _imports(sample)] == [
        "synthbook.chapters",
        "synthbook.chapters.too_real",
        "synthbook.gan",
    ]
