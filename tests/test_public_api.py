"""The public API listed in ``synthbook/__init__.py`` is the package on disk.

The package docstring lists every public module by role (core, chapters,
tools), with the names each offers. These tests read that list and check it
against the files: every module or subpackage on disk is listed under its role
and nothing else is, each listed module imports, every name the list mentions
exists, and every name in a module's ``__all__`` resolves.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

import synthbook

PACKAGE = Path(synthbook.__file__).resolve().parent
ROLES = {
    "Core": "synthbook",
    "Chapters": "synthbook.chapters",
    "Tools": "synthbook.tools",
}
_HEADING = re.compile(r"^(Core|Chapters|Tools):")
_BULLET = re.compile(r"^- :mod:`(synthbook(?:\.\w+)*)`")
_NAME = re.compile(r"``([A-Za-z_]\w*)``")


def listed() -> dict[str, dict[str, str]]:
    """Return {role: {module: its bullet's text}} from the package docstring."""
    roles: dict[str, dict[str, str]] = {}
    role = module = None
    for line in (synthbook.__doc__ or "").splitlines():
        if heading := _HEADING.match(line):
            role, module = heading[1], None
            roles[role] = {}
        elif role and (bullet := _BULLET.match(line)):
            module = bullet[1]
            roles[role][module] = line
        elif role and module and line.startswith("  "):
            roles[role][module] += " " + line.strip()
        else:
            module = None
    return roles


def on_disk(package: str) -> set[str]:
    """Return the modules and subpackages directly inside ``package``."""
    folder = PACKAGE.joinpath(*package.split(".")[1:])
    found = set()
    for path in folder.iterdir():
        if path.suffix == ".py" and not path.stem.startswith("_"):
            found.add(f"{package}.{path.stem}")
        elif (path / "__init__.py").exists():
            found.add(f"{package}.{path.name}")
    return found - {f"synthbook.{role}" for role in ("chapters", "tools")}


def test_the_list_has_the_three_roles() -> None:
    assert list(listed()) == list(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_every_module_on_disk_is_listed_under_its_role(role: str) -> None:
    assert set(listed()[role]) == on_disk(ROLES[role])


ALL_LISTED = sorted(name for modules in listed().values() for name in modules)


@pytest.mark.parametrize("name", ALL_LISTED)
def test_listed_module_imports_and_its_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    text = listed()[next(r for r in ROLES if name in listed()[r])][name]
    missing = [
        word
        for word in _NAME.findall(text)
        if not word.startswith("SYNTHBOOK_") and not _resolves(module, word)
    ]
    assert not missing, f"{name}: the docstring names {missing}, which do not exist"
    exported = getattr(module, "__all__", None)
    if exported is not None:
        assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
        unresolved = [n for n in exported if not hasattr(module, n)]
        assert not unresolved, f"{name}.__all__ lists missing names {unresolved}"


def _resolves(module: ModuleType, word: str) -> bool:
    """Whether ``word`` is an attribute of ``module`` or an importable module."""
    if hasattr(module, word):
        return True
    try:
        importlib.import_module(word)
    except ImportError:
        return False
    return True


def test_the_list_can_fail() -> None:
    # A module on disk that the docstring leaves out is found.
    assert "synthbook.gan" in on_disk("synthbook")
    assert "synthbook.chapters.too_real" in on_disk("synthbook.chapters")
    assert "synthbook.tools.bench" in on_disk("synthbook.tools")
    assert not _resolves(importlib.import_module("synthbook.stats"), "no_such_name")
