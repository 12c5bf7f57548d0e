"""Publishing and teaching at scale: the Pages workflow and the JupyterHub recipe.

The workflow (.github/workflows/book.yml) is linted with actionlint and read for
what it must do: run `.ci/run` on pushes and pull requests, cache the model and
execution caches, and publish `_build/html` from `main` only. The Helm values of
deploy/ pass yamllint and carry the memory and CPU that `bench classroom`
measured (src/synthbook/tools/bench/classroom.json), the memory sized from the
sessions' peaks with a CPU-only torch, as learners' sessions run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthbook.tools.bench import classroom

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str | None:
    """A command of this environment (beside its python, as in an unactivated venv)."""
    here = str(Path(sys.executable).parent)
    return shutil.which(name, path=os.pathsep.join([here, os.environ.get("PATH", "")]))


WORKFLOW = REPO / ".github" / "workflows" / "book.yml"
CONFIG = REPO / "_config.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(job: str) -> list[dict]:
    return _workflow()["jobs"][job]["steps"]


def _uses(job: str, action: str) -> list[dict]:
    return [s for s in _steps(job) if s.get("uses", "").startswith(f"{action}@")]


def _pages_url() -> str:
    config = yaml.safe_load(CONFIG.read_text())
    match = re.fullmatch(
        r"https://github\.com/([^/]+)/([^/]+?)/?", config["repository"]["url"]
    )
    assert match, config["repository"]["url"]
    return f"https://{match[1].lower()}.github.io/{match[2]}/"


def test_actionlint_passes() -> None:
    actionlint = _tool("actionlint")
    assert actionlint, "actionlint is missing: install the test extra (make install)"
    result = subprocess.run(
        [actionlint, "-color=false", str(WORKFLOW)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_runs_ci_on_pushes_and_pull_requests() -> None:
    # PyYAML reads the key `on` as True (YAML 1.1).
    triggers = _workflow()[True]
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers
    runs = [s["run"] for s in _steps("test") if "run" in s]
    assert "bash .ci/run" in runs


def test_workflow_caches_models_and_executed_notebooks() -> None:
    job = _workflow()["jobs"]["test"]
    caches = {
        step["with"]["path"]: step["with"] for step in _uses("test", "actions/cache")
    }
    models = job["env"]["SYNTHBOOK_CACHE"]
    assert set(caches) == {models, "_build/.jupyter_cache"}
    for cache in caches.values():
        # Keyed on the lock file and the package code.
        assert "hashFiles('requirements.lock', 'src/**/*.py')" in cache["key"]
        assert cache["restore-keys"]
    # The caches are restored before the build, which the upload follows.
    names = [s.get("uses", s.get("run")) for s in _steps("test")]
    build = names.index("bash .ci/run")
    assert all(names.index(s) < build for s in names if "actions/cache@" in str(s))


def test_workflow_publishes_main_only_after_the_tests_pass() -> None:
    jobs = _workflow()["jobs"]
    main_only = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    (upload,) = _uses("test", "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert upload["if"] == main_only
    deploy = jobs["deploy"]
    assert deploy["needs"] == "test" and deploy["if"] == main_only
    # As actions/deploy-pages documents: these two permissions, the github-pages
    # environment, and deployments that are never cancelled half-way.
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["environment"]["url"] == "${{ steps.deployment.outputs.page_url }}"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    (step,) = _uses("deploy", "actions/deploy-pages")
    assert step["id"] == "deployment"
    # Everything else only reads the repository.
    assert _workflow()["permissions"] == {"contents": "read"}


def test_book_and_workflow_name_the_same_site() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["html"]["baseurl"] == _pages_url()
    assert _pages_url() in WORKFLOW.read_text()


def test_readme_links_the_published_book_and_its_workflow() -> None:
    readme = (REPO / "README.md").read_text()
    repo = yaml.safe_load(CONFIG.read_text())["repository"]["url"].rstrip("/")
    badge = f"{repo}/actions/workflows/book.yml/badge.svg"
    assert re.search(
        rf"\[!\[[^\]]*\]\({re.escape(badge)}[^)]*\)\]\({_pages_url()}\)", readme
    )


# The JupyterHub recipe ---------------------------------------------------------------

VALUES = REPO / "deploy" / "values.yaml"
# repo2docker's conda environment, where postBuild puts the prepared models.
NB_PYTHON_PREFIX = "/srv/conda/envs/notebook"


def _values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def _mb(quantity: str) -> float:
    """A Kubernetes memory quantity in MB (10**6 bytes)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([MG])", quantity)
    assert match, f"write memory as e.g. 512M or 1G, not {quantity!r}"
    return float(match[1]) * {"M": 1, "G": 1000}[match[2]]


def test_helm_values_pass_yamllint() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-d"]
        + [
            "{extends: default, rules: {line-length: {max: 88}, document-start: disable}}"
        ]
        + [str(VALUES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_helm_resources_are_the_measured_ones() -> None:
    results = classroom.load_results()
    single = _values()["singleuser"]
    recommended = results["recommended"]
    assert single["memory"] == {
        "guarantee": recommended["memory_guarantee"],
        "limit": recommended["memory_limit"],
    }
    assert single["cpu"] == {
        "guarantee": recommended["cpu_guarantee"],
        "limit": recommended["cpu_limit"],
    }
    # Whatever the rounding: the largest session measured with a CPU-only torch,
    # kernel and server, fits in the guarantee, and one session alone in the CPU
    # limit.
    sessions = [s for s in results["sessions"] if s["error"] is None]
    largest = max(map(classroom.sizing_peak, sessions)) + results["server_rss_mb"]
    assert (
        largest <= _mb(single["memory"]["guarantee"]) <= _mb(single["memory"]["limit"])
    )
    alone = [s for s in sessions if s["at_once"] == 1]
    assert (
        max(s["cpu_seconds"] / s["seconds"] for s in alone)
        <= single["cpu"]["limit"] + 0.05
    )


def test_classroom_measured_every_crowd_without_failures() -> None:
    results = classroom.load_results()
    assert not [s for s in results["sessions"] if s["error"]]
    assert {s["at_once"] for s in results["sessions"]} == set(classroom.SESSIONS)
    for k in classroom.SESSIONS[1:]:
        runs = [s for s in results["sessions"] if s["at_once"] == k]
        assert len(runs) == k and {s["notebook"] for s in runs} == {
            results["crowd_notebook"]
        }
    exercises = sorted(
        p.stem for p in (REPO / "exercises" / "solutions").glob("*.ipynb")
    )
    alone = sorted(s["notebook"] for s in results["sessions"] if s["at_once"] == 1)
    assert alone == exercises
    assert all(f["error"] is None for f in results["first_figure"])


def test_classroom_says_how_it_knows_the_cpu_only_peaks() -> None:
    results = classroom.load_results()
    build = results["kernel_torch"]
    # Measured only where the kernels' torch was CPU-only; else derived.
    assert results["cpu_only_peak"] == ("derived" if build["cuda"] else "measured")
    for s in results["sessions"]:
        assert s["cpu_peak_mb"] is not None, s["notebook"]
        if results["cpu_only_peak"] == "measured":
            assert s["cpu_peak_mb"] == s["peak_rss_mb"]
        else:  # the CUDA libraries' part comes off
            assert 0 < s["cpu_peak_mb"] < s["peak_rss_mb"]


def test_recommend_covers_the_largest_session() -> None:
    def session(
        at_once: int, peak: float, error: str | None = None, cpu: float | None = None
    ) -> dict:
        return {
            "at_once": at_once,
            "peak_rss_mb": peak,
            "cpu_peak_mb": cpu,
            "seconds": 10.0,
            "cpu_seconds": 9.0,
            "error": error,
            "notebook": "x",
        }

    results = {
        "cpus": 2,
        "server_rss_mb": 100.0,
        "sessions": [
            session(1, 700.0),
            session(4, 910.0),
            session(4, 5000.0, "died"),
            # A CUDA torch's kernel: sized by its peak with a CPU-only torch.
            session(2, 1400.0, cpu=850.0),
        ],
    }
    got = classroom.recommend(results)
    need = 910.0 + 100.0  # the failed session does not count
    assert need <= _mb(got["memory_guarantee"]) < need + classroom.ROUND_MB
    assert _mb(got["memory_limit"]) >= max(_mb(got["memory_guarantee"]), 1000)
    assert got["cpu_guarantee"] == 0.5  # two cores shared by four sessions
    assert got["cpu_limit"] == 1.0
    results["sessions"][-1]["cpu_peak_mb"] = 1200.0
    assert _mb(classroom.recommend(results)["memory_guarantee"]) >= 1300.0


def test_kernel_python_names_the_variable_when_it_is_wrong(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(classroom.CPU_PYTHON, raising=False)
    assert classroom.kernel_python() == sys.executable
    monkeypatch.setenv(classroom.CPU_PYTHON, str(tmp_path / "no-python"))
    with pytest.raises(ValueError, match="SYNTHBOOK_CPU_PYTHON"):
        classroom.kernel_python()


def test_hub_sessions_read_the_prepared_cache() -> None:
    env = _values()["singleuser"]["extraEnv"]
    prepared = f"{NB_PYTHON_PREFIX}/share/synthbook/cache"
    assert env["SYNTHBOOK_CACHE"] == prepared
    started = subprocess.run(
        [str(REPO / "start"), "sh", "-c", "echo $SYNTHBOOK_CACHE"],
        env={"PATH": "/usr/bin:/bin", "NB_PYTHON_PREFIX": NB_PYTHON_PREFIX},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert started == prepared
    assert _values()["cull"]["enabled"] is True


def test_image_is_built_with_the_repository_outside_home() -> None:
    readme = (REPO / "deploy" / "README.md").read_text()
    build = re.search(
        r"repo2docker --no-run[^`]*?https://github\.com/\S+", readme, re.S
    )
    assert build, "deploy/README.md must give the repo2docker command"
    target = re.search(r"--target-repo-dir (\S+)", build[0])
    assert target and not target[1].startswith("/home/"), build[0]
    assert "--user-id 1000" in build[0] and _values()["singleuser"]["uid"] == 1000


def test_teaching_page_is_in_the_book() -> None:
    toc = (REPO / "_toc.yml").read_text()
    assert "file: book/teaching_a_class" in toc


def test_learner_notebooks_install_synthbook_where_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = yaml.safe_load(CONFIG.read_text())["repository"]["url"].rstrip("/")
    for path in sorted((REPO / "exercises" / "learner").glob("*.ipynb")):
        first = json.loads(path.read_text())["cells"][0]
        source = "".join(first["source"])
        assert first["cell_type"] == "code", path.name
        assert f'REPOSITORY = "{repo}"' in source and "git+{REPOSITORY}@" in source
    # Where synthbook is importable (here, Binder, a hub) the cell installs nothing.
    calls: list[object] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    exec(compile(source, "first cell", "exec"), {})  # noqa: S102
    assert calls == []
