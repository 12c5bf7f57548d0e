"""One environment: pyproject.toml's ranges, requirements.lock's pins, environment.yml.

requirements.lock is what `make install` (and so `make book`, CI and the hosted
build) installs; environment.yml is what Binder and JupyterHub images (repo2docker)
and conda users build. They must name the same packages at the same versions, and
the lock must satisfy every range pyproject.toml declares.
"""

import ast
import re
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
# Names that differ between conda-forge and PyPI.
CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
# Only the conda side needs these (the interpreter and pip itself).
CONDA_ONLY = {"python", "pip"}
# The extras a session needs; `test` does not run on Binder or JupyterHub.
SESSION_EXTRAS = ("book", "lab")
# Where the lock is resolved for: CI, Binder-like Linux, the Python of environment.yml.
LINUX_311 = {
    "sys_platform": "linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "python_full_version": "3.11.9",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = _project()
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def _locked() -> dict[str, str]:
    """Pins of the lock that apply on Linux x86-64 with Python 3.11."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if line.startswith((" ", "#")) or not line.strip():
            continue
        spec, _, marker = line.rstrip(" \\").partition(";")
        name, sep, version = spec.strip().partition("==")
        assert sep, f"not an exact pin in requirements.lock: {line!r}"
        if marker.strip() and not Marker(marker.strip()).evaluate(LINUX_311):
            continue
        assert _norm(name) not in pins, f"{name} pinned twice for Linux, Python 3.11"
        pins[_norm(name)] = version
    return pins


def _conda() -> dict[str, str]:
    """environment.yml's packages (PyPI names) and their version specs."""
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    result: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(\S*)", dep)
            assert match, dep
            result[_norm(CONDA_TO_PIP.get(match[1], match[1]))] = match[2]
        else:  # the pip subsection: installed from PyPI into the conda environment
            for requirement in dep["pip"]:
                req = Requirement(requirement)
                result[_norm(req.name)] = str(req.specifier)
    return result


def test_lock_pins_every_package_with_hashes() -> None:
    text = LOCK.read_text()
    assert "make lock" in text.splitlines()[1], "the lock should say how to refresh it"
    entries = re.findall(r"(?m)^([A-Za-z0-9][^\s;=]*)==\S+.*?(?=^\S|\Z)", text, re.S)
    assert len(entries) > 50
    for block in re.split(r"(?m)^(?=[A-Za-z0-9])", text)[1:]:
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def test_lock_satisfies_pyproject() -> None:
    pins = _locked()
    for req in _requirements(("book", "lab", "test")):
        name = _norm(req.name)
        assert name in pins, (
            f"{req.name} is in pyproject.toml but not locked: make lock"
        )
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside {req}: make lock"
        )


def test_torch_is_the_release_this_machine_has() -> None:
    # /etc/xdg/pip caps torch at 2.14.1 and torchvision at 0.29.1 (the wheels on
    # this machine's disk); PyPI's torchvision imports only with PyPI's torch.
    pins = _locked()
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")


@pytest.mark.parametrize(
    ("package", "internal"),
    [("opacus", "ghost clipping classes"), ("jupytext", "the exercise drift check")],
)
def test_upper_bound_where_the_project_leans_on_internals(
    package: str, internal: str
) -> None:
    reqs = {_norm(r.name): r for r in _requirements(("book",))}
    bounds = [s for s in reqs[package].specifier if s.operator in ("<", "<=", "==")]
    assert bounds, f"{package} needs an upper bound ({internal})"


def test_environment_yml_has_the_session_packages_at_the_locked_versions() -> None:
    session = {_norm(r.name) for r in _requirements(SESSION_EXTRAS)}
    conda = {k: v for k, v in _conda().items() if k not in CONDA_ONLY}
    assert set(conda) == session, (
        f"only in pyproject: {sorted(session - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - session)}"
    )
    pins = _locked()
    differ = {k: (v, pins[k]) for k, v in conda.items() if v != f"=={pins[k]}"}
    assert not differ, (
        f"environment.yml vs requirements.lock: {differ}; run `make lock`"
    )


def test_session_environment_renders_myst_in_jupyterlab() -> None:
    conda = _conda()
    assert {"jupyterlab", "jupyterlab-myst", "jupytext"} <= set(conda)


def test_direct_imports_are_declared() -> None:
    """Every third-party module the package (or an answer key) imports is declared."""
    module_to_package = {
        "sklearn": "scikit-learn",
        "PIL": "pillow",
        "yaml": "pyyaml",
        "IPython": "ipython",
    }
    stdlib_or_own = {"synthbook", "exercise_keys", "__future__"}
    declared = {_norm(r.name) for r in _requirements(("book", "lab", "test"))}
    imported: set[str] = set()
    sources = [*(REPO / "src").rglob("*.py"), *(REPO / "exercises").rglob("*.py")]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {
        m
        for m in imported
        if m not in sys.stdlib_module_names and m not in stdlib_or_own
    }
    missing = {
        m for m in third_party if _norm(module_to_package.get(m, m)) not in declared
    }
    assert not missing, (
        f"imported by src/ but not declared in pyproject.toml: {missing}"
    )


def test_binder_gets_cpu_torch_and_installs_synthbook() -> None:
    text = (REPO / "environment.yml").read_text()
    assert re.search(r"pytorch\s*==\S+\s+cpu_\*", text), (
        "Binder must get a CPU-only PyTorch build"
    )
    post_build = (REPO / "postBuild").read_text()
    assert re.search(r"(?m)^python -m pip install --no-deps \.$", post_build)
    assert (REPO / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
