"""environment.yml (Binder, conda) and pyproject.toml (pip) must not drift apart."""

import re
from pathlib import Path

import tomllib
import yaml

REPO = Path(__file__).resolve().parents[1]
# Names that differ between conda-forge and PyPI.
CONDA_TO_PIP = {"pytorch": "torch"}
# Packages only the conda side needs (the interpreter, pip, a notebook UI for Binder).
CONDA_ONLY = {"python", "pip", "jupyterlab", "nodejs"}
# Packages only the pip side needs (tests and linting do not run on Binder).
PIP_GROUPS_SHARED = ("book",)


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement)
    assert match, requirement
    name = match.group(1).lower().replace("_", "-")
    # conda's "name >=1 build_*": drop the build string, keep the version spec.
    spec = match.group(2).split()[0] if match.group(2).strip() else ""
    return name, spec.replace(" ", "")


def _pip_requirements() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for group in PIP_GROUPS_SHARED:
        reqs += project["optional-dependencies"][group]
    return dict(_split(r) for r in reqs)


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    result = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            result[CONDA_TO_PIP.get(name, name)] = spec
        else:  # the pip subsection: installed from PyPI into the conda environment
            result.update(_split(requirement) for requirement in dep["pip"])
    return result


def test_same_packages_and_bounds() -> None:
    pip_side, conda_side = _pip_requirements(), _conda_requirements()
    conda_shared = {k: v for k, v in conda_side.items() if k not in CONDA_ONLY}
    assert set(pip_side) == set(conda_shared), (
        f"only in pyproject: {sorted(set(pip_side) - set(conda_shared))}; "
        f"only in environment.yml: {sorted(set(conda_shared) - set(pip_side))}"
    )
    mismatched = {
        k: (pip_side[k], conda_shared[k])
        for k in pip_side
        if pip_side[k] != conda_shared[k]
    }
    assert not mismatched, f"bounds differ (pyproject, environment.yml): {mismatched}"


def test_binder_gets_cpu_torch_and_installs_synthbook() -> None:
    text = (REPO / "environment.yml").read_text()
    assert re.search(r"pytorch\s*>=\S+\s+cpu_\*", text), (
        "Binder must get a CPU-only PyTorch build"
    )
    post_build = (REPO / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build
    assert (REPO / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
