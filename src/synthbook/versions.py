"""Code versions for cache keys: change when the code does, not when a comment does.

Every cached model or result records the version of the code that made it, so
that editing that code trains or computes it again. The version is a hash of
the code's syntax tree with docstrings removed: reformatting, comments and
docstrings leave it unchanged; any change to what the code does changes it.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
from functools import lru_cache
from types import ModuleType
from typing import Any


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(
                node,
                ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef,
            )
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


@lru_cache(maxsize=256)
def source_version(source: str) -> str:
    """Return a 12-character hash of Python ``source``, ignoring comments and docstrings.

    Raises
    ------
    SyntaxError
        If ``source`` is not valid Python.
    """
    tree = _strip_docstrings(ast.parse(textwrap.dedent(source)))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:12]


def code_version(*parts: ModuleType | Any) -> str:
    """Return one version for the code of several modules, classes or functions.

    Parameters
    ----------
    *parts : module, class or function
        The code a cached result depends on, in a fixed order.

    Returns
    -------
    str
        12 hexadecimal characters.

    Raises
    ------
    ValueError
        If no part is given.
    TypeError
        If a part has no Python source (a builtin, say).
    """
    if not parts:
        raise ValueError("code_version needs at least one module, class or function")
    digest = hashlib.sha256()
    for part in parts:
        try:
            source = inspect.getsource(part)
        except (OSError, TypeError) as err:
            raise TypeError(
                f"code_version cannot read the source of {part!r}: pass a module, "
                "class or function written in Python"
            ) from err
        digest.update(source_version(source).encode())
    return digest.hexdigest()[:12]
