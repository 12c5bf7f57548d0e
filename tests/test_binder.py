"""Binder (repo2docker) configuration: environment.yml + postBuild.

The rules checked here are repo2docker's (https://repo2docker.readthedocs.io,
"Configuration files"): it reads config files from ``binder/`` or ``.binder/``
if either exists, else from the repository root; the first build pack that
matches wins, in the order Dockerfile, Julia (Project.toml, REQUIRE), Nix
(default.nix), R (install.R, DESCRIPTION, runtime.txt with ``r-``), conda
(environment.yml), then pip (Pipfile, requirements.txt, setup.py). postBuild
runs after the environment is built and must be an executable script; ``start``
runs when a session starts and must end by running the command it is given.

``repo2docker`` (the test extra) is asked for the Dockerfile it would build
(``--no-build``: no Docker daemon needed), as Binder builds it and as
deploy/README.md builds the JupyterHub image. Whether conda-forge can solve
environment.yml cannot be checked here (the channel is not reachable from this
machine); conda's own parser (py-rattler) checks that every line is a valid spec.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rattler
import yaml

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str | None:
    """A command of this environment (beside its python, as in an unactivated venv)."""
    here = str(Path(sys.executable).parent)
    return shutil.which(name, path=os.pathsep.join([here, os.environ.get("PATH", "")]))


ENV_FILE = REPO / "environment.yml"
POST_BUILD = REPO / "postBuild"
SITE = REPO / "_build" / "html"

# Files that would make repo2docker ignore the root environment.yml: a binder
# folder moves where it looks; the others select a build pack that comes first
# (or, for pip files, a second, conflicting place to declare dependencies).
OVERRIDING = [
    "binder",
    ".binder",
    "Dockerfile",
    "Project.toml",
    "JuliaProject.toml",
    "REQUIRE",
    "default.nix",
    "install.R",
    "DESCRIPTION",
    "runtime.txt",
    "requirements.txt",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
]

# conda MatchSpec, string form: "name", "name version", "name version build",
# or "name=version=build"; version constraints may be joined with "," or "|".
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"
_VERSION_ATOM = r"(?:==|!=|<=|>=|<|>|~=|=)?(?:\*|[0-9][0-9A-Za-z.*+_!]*)"
_VERSION = rf"{_VERSION_ATOM}(?:[,|]{_VERSION_ATOM})*"
_BUILD = r"[A-Za-z0-9_.*+]+"
MATCH_SPEC = re.compile(
    rf"^(?P<name>{_NAME})"
    rf"(?:(?:\s*(?P<version>{_VERSION}))(?:\s+(?P<build>{_BUILD}))?"
    rf"|=(?P<eq_version>[0-9][0-9A-Za-z.*+_!]*)=(?P<eq_build>{_BUILD}))?$"
)


def _environment() -> dict:
    return yaml.safe_load(ENV_FILE.read_text())


def _conda_specs() -> list[str]:
    return [dep for dep in _environment()["dependencies"] if isinstance(dep, str)]


def _parse(spec: str) -> dict[str, str | None]:
    match = MATCH_SPEC.match(spec.strip())
    assert match, f"not a conda match spec: {spec!r}"
    return {
        "name": match["name"],
        "version": match["version"] or match["eq_version"],
        "build": match["build"] or match["eq_build"],
    }


def test_environment_yml_is_a_conda_environment() -> None:
    env = _environment()
    assert isinstance(env, dict)
    assert env.get("channels") and "conda-forge" in env["channels"]
    deps = env.get("dependencies")
    assert isinstance(deps, list) and deps
    names = {_parse(dep)["name"] for dep in _conda_specs()}
    # repo2docker picks the Python version from the environment file.
    assert "python" in names
    # postBuild installs the book's package with pip.
    assert "pip" in names
    for dep in deps:
        assert isinstance(dep, str) or (
            isinstance(dep, dict) and set(dep) == {"pip"}
        ), dep


def test_every_dependency_is_a_valid_match_spec() -> None:
    for spec in _conda_specs():
        _parse(spec)


@pytest.mark.parametrize("package", ["pytorch", "torchvision"])
def test_torch_is_pinned_to_a_cpu_build(package: str) -> None:
    specs = [s for s in _conda_specs() if _parse(s)["name"] == package]
    assert len(specs) == 1, f"{package} must appear once in environment.yml"
    parsed = _parse(specs[0])
    # The exact version of requirements.lock (tests/test_environment.py).
    assert parsed["version"] and parsed["version"].startswith("=="), parsed
    build = parsed["build"]
    assert build, f"{package} needs a build-string pin, or conda may pick a CUDA build"
    # conda-forge's build strings: cpu_generic_*/cpu_mkl_* (pytorch), cpu_py*
    # (torchvision) versus cuda*_... for the GPU builds.
    assert fnmatch.fnmatchcase("cpu_generic_py311_h0123abc_0", build)
    assert fnmatch.fnmatchcase("cpu_mkl_py311_h0123abc_100", build)
    assert not fnmatch.fnmatchcase("cuda126_mkl_py311_h0123abc_300", build)


def test_match_specs_agree_with_rattler() -> None:
    """Cross-check with conda's own match-spec parser (py-rattler, the test extra)."""
    for spec in _conda_specs():
        ours, theirs = _parse(spec), rattler.MatchSpec(spec)
        assert theirs.name.normalized == ours["name"].lower()
        assert (str(theirs.build) if theirs.build else None) == ours["build"]
        if ours["version"] and ours["version"].startswith("=="):
            assert str(theirs.version) == ours["version"], spec


def test_post_build_is_an_executable_bash_script() -> None:
    raw = POST_BUILD.read_bytes()
    assert b"\r\n" not in raw, "CRLF line endings break the shebang"
    text = raw.decode()
    assert text.splitlines()[0] in ("#!/bin/bash", "#!/usr/bin/env bash")
    assert "set -e" in text or "set -euo pipefail" in text
    # Installed into the environment, not linked to the repository folder, which a
    # JupyterHub home volume hides.
    assert re.search(r"(?m)^python -m pip install --no-deps \.$", text)
    assert "-e ." not in text
    assert os.access(POST_BUILD, os.X_OK), "postBuild must be executable (chmod +x)"
    if (REPO / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(
            ["git", "ls-files", "-s", "postBuild"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout
        if listed:  # committed: the executable bit must be committed too
            assert listed.startswith("100755"), listed


@pytest.mark.parametrize("name", OVERRIDING)
def test_no_config_file_overrides_environment_yml(name: str) -> None:
    assert not (REPO / name).exists(), (
        f"{name} would make repo2docker ignore (or contradict) environment.yml"
    )


def _repository() -> tuple[str, str]:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    match = re.match(r"https://github\.com/([^/]+/[^/]+)$", url)
    assert match, url
    return match[1], config["repository"].get("branch", "main")


def test_readme_has_binder_badge() -> None:
    repo, branch = _repository()
    readme = (REPO / "README.md").read_text()
    badge = re.search(
        r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]"
        r"\((https://mybinder\.org/v2/gh/[^)\s]+)\)",
        readme,
    )
    assert badge, "README.md needs a Binder badge"
    assert badge[1].startswith(f"https://mybinder.org/v2/gh/{repo}/{branch}"), badge[1]


def test_book_pages_do_not_load_the_badge_image() -> None:
    """The badge image comes from mybinder.org; the book itself must work offline."""
    for page in (REPO / "book").rglob("*.md"):
        assert "mybinder.org/badge" not in page.read_text(), page


def _notebook_chapters() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            if "root" in node:
                files.append(node["root"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    chapters = []
    for file in files:
        source = REPO / f"{file}.md"
        if (
            source.exists()
            and "\nkernelspec:" in source.read_text().split("\n---", 1)[0]
        ):
            chapters.append(file)
    return chapters


@pytest.mark.skipif(
    not (SITE / "index.html").exists(), reason="book not built (make book)"
)
def test_chapters_have_binder_launch_buttons() -> None:
    repo, branch = _repository()
    chapters = _notebook_chapters()
    assert chapters, "no notebook chapters found in _toc.yml"
    for chapter in chapters:
        built = SITE / f"{chapter}.html"
        assert built.exists(), f"{built} is missing: rebuild the book"
        html = built.read_text()
        link = (
            f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{chapter}.md"
        )
        assert link in html, f"{chapter}: no Binder launch button ({link})"
        assert "btn-launch-thebe" in html, f"{chapter}: no Thebe launch button"


def _repo2docker_plan(tmp_path: Path, *extra: str) -> str:
    """The Dockerfile repo2docker would build, as Binder builds it (uid 1000, jovyan)."""
    command = _tool("repo2docker")
    assert command, "repo2docker is missing: install the test extra (make install)"
    result = subprocess.run(
        [command, "--no-build", "--debug", "--user-id", "1000"]
        + ["--user-name", "jovyan", *extra, str(REPO)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return output


def test_repo2docker_plans_a_conda_build(tmp_path: Path) -> None:
    plan = _repo2docker_plan(tmp_path)
    assert "Building conda environment for python=3.11" in plan
    env_update = plan.index(
        'env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"'
    )
    copy_repo = plan.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    post_build = plan.index("RUN ./postBuild")
    start = plan.index('ENV R2D_ENTRYPOINT="${REPO_DIR}/start"')
    # The environment first, then the repository (owned by the notebook user, so
    # postBuild can install from it), postBuild as that user, then `start`.
    assert env_update < copy_repo < post_build < start
    assert "USER ${NB_USER}" in plan[copy_repo:post_build]


def test_start_points_sessions_at_the_prepared_cache(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "NB_PYTHON_PREFIX": "/srv/conda/envs/notebook"}

    def started(**more: str) -> dict[str, str]:
        out = subprocess.run(
            [str(REPO / "start"), "env"],
            env={**env, **more},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    prepared = "/srv/conda/envs/notebook/share/synthbook/cache"
    assert started()["SYNTHBOOK_CACHE"] == prepared
    assert started()["SYNTHBOOK_THREADS"] == "1"
    # The documented switch: a cache of one's own, so every model trains live.
    mine = str(tmp_path / "mine")
    assert started(SYNTHBOOK_CACHE=mine)["SYNTHBOOK_CACHE"] == mine
    # postBuild fills the same folder (named with the same variable).
    post_build = POST_BUILD.read_text()
    line = 'export SYNTHBOOK_CACHE="${NB_PYTHON_PREFIX}/share/synthbook/cache"'
    assert line in post_build
    assert post_build.index(line) < post_build.index("python -m synthbook prepare")
    # What `bench classroom` measures against: prepare, then every chapter and
    # exercise once.
    prepare = post_build.index("python -m synthbook prepare")
    assert prepare < post_build.index("python -m synthbook.tools.sessions")
    assert "|| " not in post_build, "a failed step must fail the image build"


def test_lab_opens_chapters_as_notebooks() -> None:
    overrides = json.loads((REPO / "deploy" / "lab-overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    assert "deploy/lab-overrides.json" in POST_BUILD.read_text()
