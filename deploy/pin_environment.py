"""Rewrite the version pins of environment.yml from requirements.lock.

``make lock`` runs this after refreshing the lock, so that Binder and conda users
get the versions the book is built and tested with. Only the version of each
package already listed changes (conda build strings, comments and order stay);
a listed package missing from the lock is an error, naming it.

Usage: ``python deploy/pin_environment.py [--check]`` from the repository folder
(``--check`` writes nothing and exits 1 when a pin differs).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from packaging.markers import Marker

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
ENVIRONMENT = REPO / "environment.yml"
#: conda-forge names whose PyPI name differs.
CONDA_TO_PYPI = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
#: Listed in environment.yml but not pinned from the lock.
UNPINNED = {"python", "pip"}

_LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.*))?$")
# "  - name ==1.2 build*" (conda) or "      - name==1.2" (the pip: section)
_ENV_LINE = re.compile(
    r"^(?P<lead>\s*-\s+)(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)"
    r"(?P<sep>\s*)(?P<op>==|>=|=)?(?P<version>[^\s#]*)(?P<rest>.*)$"
)


def normalise(name: str) -> str:
    """Return a package name in PyPI's normal form (lower case, runs of -_. as -)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_versions(text: str, python: str = "3.11") -> dict[str, str]:
    """Return ``{name: version}`` from a uv/pip-compile lock, for Linux and ``python``.

    A universal lock may list a package twice under different markers; the entry
    whose marker holds on Linux x86-64 with this Python is kept.
    """
    environment = {
        "sys_platform": "linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "python_version": python,
        "python_full_version": f"{python}.99",
    }
    versions: dict[str, str] = {}
    for line in text.splitlines():
        match = _LOCK_LINE.match(line.strip().rstrip("\\").strip())
        if not match:
            continue
        name, version, marker = match.groups()
        if marker and not _marker_holds(marker, environment):
            continue
        versions[normalise(name)] = version
    return versions


def _marker_holds(marker: str, environment: dict[str, str]) -> bool:
    return Marker(marker).evaluate(environment)


def pinned(text: str, versions: dict[str, str]) -> tuple[str, list[str]]:
    """Return environment.yml's text with every pin set to ``versions``, and the problems."""
    out, problems = [], []
    in_dependencies = in_pip = False
    for line in text.splitlines(keepends=True):
        if re.match(r"^dependencies:", line):
            in_dependencies = True
        elif re.match(r"^\S", line):
            in_dependencies = False
        if re.match(r"^\s{0,2}-\s", line):  # an item of dependencies: ends `pip:`
            in_pip = False
        if re.match(r"^\s*-\s+pip:\s*$", line):
            in_pip = True
            out.append(line)
            continue
        match = _ENV_LINE.match(line.rstrip("\n"))
        if not in_dependencies or not match or match["name"] in UNPINNED:
            out.append(line)
            continue
        name = normalise(CONDA_TO_PYPI.get(match["name"], match["name"]))
        if name not in versions:
            problems.append(
                f"{match['name']} is in environment.yml but not in the lock"
            )
            out.append(line)
            continue
        sep = "" if in_pip else " "  # conda: "name ==1.0 build"; pip: "name==1.0"
        new = f"{match['lead']}{match['name']}{sep}=={versions[name]}{match['rest']}"
        out.append(new + ("\n" if line.endswith("\n") else ""))
    return "".join(out), problems


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check``, compare) environment.yml's pins."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing")
    args = parser.parse_args(argv)
    versions = lock_versions(LOCK.read_text())
    old = ENVIRONMENT.read_text()
    new, problems = pinned(old, versions)
    for problem in problems:
        print(f"error: {problem}; add it to pyproject.toml and run `make lock`")
    if problems:
        return 2
    if new == old:
        print("environment.yml pins agree with requirements.lock")
        return 0
    if args.check:
        print("environment.yml pins differ from requirements.lock: run `make lock`")
        return 1
    ENVIRONMENT.write_text(new)
    print("environment.yml pins rewritten from requirements.lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
