"""Generate learner notebooks, solution notebooks and book pages from one source.

The solution is written once, as a MyST Markdown notebook
``exercises/src/NN_topic.md`` (its conventions:
:mod:`synthbook.tools.exercise_pages`, which builds the versions). This module
finds the sources and writes three files from each:

``exercises/solutions/NN_topic.ipynb``
    the source as a notebook, solutions and checks included;
``exercises/learner/NN_topic.ipynb``
    the same notebook with every solution replaced by a placeholder, and a
    first cell that installs the package where it is missing (Colab);
``book/exercises/NN_topic.md``
    a book page with each task in an ``exercise`` directive and its solution
    (with the checks) in a ``solution`` directive that opens as a dropdown,
    linked to the learner notebook on GitHub, Binder and Colab.

Generated files are deterministic, so ``python -m synthbook exercises --check``
can compare them byte for byte with what is committed.
"""

from __future__ import annotations

from pathlib import Path

from synthbook.tools.exercise_pages import (
    book_page,
    learner_notebook,
    notebook_json,
    read_source,
    solution_notebook,
)

SOURCE_DIR = Path("exercises/src")
SOLUTION_DIR = Path("exercises/solutions")
LEARNER_DIR = Path("exercises/learner")
PAGE_DIR = Path("book/exercises")
SOURCE_GLOB = "[0-9][0-9]_*.md"


# Files on disk ---------------------------------------------------------------------


def find_root(start: str | Path | None = None) -> Path:
    """Return the repository folder: the first of ``start`` and its parents with ``exercises/src``.

    Raises
    ------
    FileNotFoundError
        If no such folder exists.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SOURCE_DIR).is_dir():
            return folder
    raise FileNotFoundError(
        f"no {SOURCE_DIR} folder in {here} or its parents; run from the repository"
    )


def _config(root: Path) -> dict:
    try:
        import yaml

        return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    except (ImportError, OSError):
        return {}


def install_cell(root: Path) -> str | None:
    """Return the learner notebooks' first cell: install synthbook where it is missing.

    On Colab (which opens the notebooks from GitHub) nothing of the book is
    installed; elsewhere the ``import`` succeeds and the cell does nothing.
    """
    repository = _config(root).get("repository") or {}
    repo = repository.get("url", "").rstrip("/")
    if not repo.startswith("https://"):
        return None
    branch = repository.get("branch", "main")
    return (
        "# Run this cell first. Where the book's package is missing (on Colab, say),\n"
        "# it installs it, with the exercises' checks, from the book's repository.\n"
        f'REPOSITORY = "{repo}"\n'
        "try:\n"
        "    import synthbook  # noqa: F401\n"
        "except ImportError:\n"
        "    import subprocess\n"
        "    import sys\n"
        "\n"
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",\n'
        f'                    f"synthbook @ git+{{REPOSITORY}}@{branch}"], check=True)'
    )


def _learner_links(root: Path, stem: str) -> str:
    """Markdown links to the learner notebook: GitHub, Binder, Colab (``_config.yml``)."""
    config = _config(root)
    repo = (config.get("repository") or {}).get("url", "").rstrip("/")
    branch = (config.get("repository") or {}).get("branch", "main")
    binder = (config.get("launch_buttons") or {}).get("binderhub_url", "").rstrip("/")
    notebook = f"{LEARNER_DIR.as_posix()}/{stem}.ipynb"
    if not repo.startswith("https://github.com/"):
        return f"The learner notebook is `{notebook}` in the repository."
    parts = [f"[the learner notebook on GitHub]({repo}/blob/{branch}/{notebook})"]
    slug = repo.removeprefix("https://github.com/")
    if binder:
        url = f"{binder}/v2/gh/{slug}/{branch}?urlpath=lab/tree/{notebook}"
        parts.append(f"[run it on Binder]({url})")
    colab = f"https://colab.research.google.com/github/{slug}/blob/{branch}/{notebook}"
    parts.append(f"[open it in Colab]({colab})")
    return (
        "```{tip}\nTry the tasks before opening a solution: "
        + (", ".join(parts[:-1]) + " or " + parts[-1] if len(parts) > 1 else parts[0])
        + ". Each task has a check cell that tells you whether your answer is right.\n```"
    )


def sources(root: str | Path | None = None) -> list[Path]:
    """Return the source notebooks ``exercises/src/NN_*.md``, sorted."""
    base = find_root(root) if root is None else Path(root)
    return sorted((base / SOURCE_DIR).glob(SOURCE_GLOB))


def render(source: Path, root: Path) -> dict[Path, str]:
    """Return the generated files for one source, as ``{path relative to root: text}``."""
    nb = read_source(source)
    stem = source.stem
    rel = source.relative_to(root).as_posix()
    return {
        SOLUTION_DIR / f"{stem}.ipynb": notebook_json(solution_notebook(nb, rel)),
        LEARNER_DIR / f"{stem}.ipynb": notebook_json(
            learner_notebook(nb, rel, first=install_cell(root))
        ),
        PAGE_DIR / f"{stem}.md": book_page(nb, stem, rel, _learner_links(root, stem)),
    }


def render_all(root: str | Path | None = None) -> dict[Path, str]:
    """Return every generated file of every source (paths relative to the root)."""
    base = find_root(root) if root is None else Path(root)
    files: dict[Path, str] = {}
    for source in sources(base):
        files.update(render(source, base))
    return files


def _generated_on_disk(root: Path) -> set[Path]:
    found = {
        p.relative_to(root)
        for d in (SOLUTION_DIR, LEARNER_DIR)
        for p in (root / d).glob("*.ipynb")
    }
    found |= {p.relative_to(root) for p in (root / PAGE_DIR).glob(SOURCE_GLOB)}
    return found


def generate(
    root: str | Path | None = None, out: str | Path | None = None
) -> list[Path]:
    """Write every generated file; return those whose contents changed.

    Parameters
    ----------
    root : path-like, optional
        The repository (default: found from the current folder).
    out : path-like, optional
        Write under this folder instead of ``root`` (same layout), e.g. to compare.
    """
    base = find_root(root) if root is None else Path(root)
    target = Path(out) if out is not None else base
    changed = []
    for rel, text in render_all(base).items():
        path = target / rel
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(rel)
    return changed


def check_generated(root: str | Path | None = None) -> list[str]:
    """Compare committed files with what would be generated; return the problems.

    A problem is a generated file that is missing or differs, or a file in a
    generated folder whose source no longer exists. An empty list means no drift.
    """
    base = find_root(root) if root is None else Path(root)
    expected = render_all(base)
    problems = []
    for rel, text in expected.items():
        path = base / rel
        if not path.exists():
            problems.append(f"{rel}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{rel}: differs from its source")
    for rel in sorted(_generated_on_disk(base) - set(expected)):
        problems.append(
            f"{rel}: no source in {SOURCE_DIR} (delete it or restore the source)"
        )
    return problems
