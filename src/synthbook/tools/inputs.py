"""What a notebook's outputs depend on besides its own code: a key for its cached run.

myst-nb's execution cache matches a notebook to a cached run by its code cells
and kernel only, so an edit to the ``synthbook`` code a chapter imports would
leave its old outputs in place. :func:`inputs_key` hashes the rest: the code of
the project's own modules (:data:`PACKAGES`) the notebook imports, with every
module they import in turn (comments and docstrings do not count:
:func:`synthbook.versions.source_version`), the files those packages ship, the
versions of the libraries that compute the results, and the environment
variables that change them.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode

from synthbook.versions import source_version

#: The project's own top-level packages: the book's helpers and the exercises'
#: answer keys (``exercises/exercise_keys``, installed beside synthbook).
PACKAGES = ("synthbook", "exercise_keys")

#: Libraries whose version can change a chapter's numbers or outputs.
RESULT_LIBRARIES = (
    "torch",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "opacus",
    "mlxtend",
    "ipywidgets",
    "ipykernel",
)
#: Environment variables that change what a chapter computes.
RESULT_ENV = ("SYNTHBOOK_DATA", "SYNTHBOOK_THREADS")


def imported_names(
    source: str, module: str = "", *, package: bool = False, ipython: bool = True
) -> set[str]:
    """Return the absolute names of what Python ``source`` imports.

    ``from a import b`` gives both ``a`` and ``a.b`` (``b`` may be a module);
    relative imports are resolved against ``module``. With ``ipython``, IPython
    syntax (magics, shell escapes) is translated first, so notebook cells can be
    passed as they are.
    """
    try:
        if ipython:
            source = TransformerManager().transform_cell(source)
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    base = module if package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = base.split(".") if node.level else []
            if node.level > 1:
                parts = parts[: len(parts) - node.level + 1]
            stem = ".".join([*parts, node.module] if node.module else parts)
            names.add(stem)
            names.update(f"{stem}.{alias.name}" for alias in node.names)
    return names


def package_dirs(names: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Return the folder of each package in ``names`` that is installed (not imported)."""
    found = {}
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found[name] = Path(next(iter(spec.submodule_search_locations)))
    return found


def _module_file(name: str, packages: Mapping[str, Path]) -> Path | None:
    top, *parts = name.split(".")
    if top not in packages:
        return None
    base = packages[top].joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def module_closure(
    names: Iterable[str], packages: Mapping[str, Path]
) -> dict[str, Path]:
    """Return the modules of ``packages`` that importing ``names`` runs, with files.

    Parent packages count (importing ``a.b`` runs ``a/__init__.py``), and so
    does every import inside those modules, function-local ones included.
    """
    found: dict[str, Path] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = _module_file(name, packages)
        if path is None:
            continue
        found[name] = path
        todo.append(name.rpartition(".")[0])
        text = path.read_text(encoding="utf-8")
        todo.extend(_module_imports(text, name, path.name == "__init__.py"))
    return found


@lru_cache(maxsize=1024)
def _module_imports(text: str, name: str, package: bool) -> frozenset[str]:
    # Memoised on the text: one build asks for each module once per notebook.
    return frozenset(imported_names(text, name, package=package, ipython=False))


def _file_version(path: Path) -> str:
    if path.suffix == ".py":
        try:
            return source_version(path.read_text(encoding="utf-8"))  # memoised too
        except SyntaxError:
            pass  # the notebook will fail and say why; the key still changes
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _package_resources(package_init: Path) -> list[Path]:
    """Non-Python files a package ships (JavaScript, data), outside its subpackages."""
    folder = package_init.parent
    found = []
    for path in sorted(folder.rglob("*")):
        inside = path.relative_to(folder).parts[:-1]
        if (
            path.is_file()
            and path.suffix not in (".py", ".pyc")
            and "__pycache__" not in inside
            and not any(
                (folder.joinpath(*inside[: i + 1]) / "__init__.py").is_file()
                for i in range(len(inside))
            )
        ):
            found.append(path)
    return found


def _library_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def inputs_key(nb: NotebookNode, packages: Mapping[str, Path] | None = None) -> str:
    """Return a hash of what ``nb``'s outputs depend on besides its own code cells.

    That is the code of the modules of ``packages`` (default: :data:`PACKAGES`
    where they are installed) the notebook imports, and of the modules they
    import, files those packages ship, the versions of the libraries in
    :data:`RESULT_LIBRARIES`, Python's version and the variables in
    :data:`RESULT_ENV`. Comments and docstrings do not count
    (:func:`synthbook.versions.source_version`).
    """
    packages = package_dirs() if packages is None else packages
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            names |= imported_names(cell.source)
    parts: dict[str, str] = {}
    for name, path in sorted(module_closure(names, packages).items()):
        parts[name] = _file_version(path)
        if path.name == "__init__.py":
            top = packages[name.split(".")[0]]
            for resource_file in _package_resources(path):
                rel = resource_file.relative_to(top.parent).as_posix()
                parts[rel] = _file_version(resource_file)
    parts.update({lib: _library_version(lib) for lib in RESULT_LIBRARIES})
    parts["python"] = platform.python_version()
    parts.update({var: os.environ.get(var, "") for var in RESULT_ENV})
    text = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]
