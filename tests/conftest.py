"""Shared fixtures: an isolated cache, and the real MNIST test files when present."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST_RAW = REPO.parent / "shared" / "data" / "MNIST" / "raw"


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the synthbook cache at a fresh folder so tests never share state."""
    folder = tmp_path_factory.mktemp("synthbook-cache")
    monkeypatch.setenv("SYNTHBOOK_CACHE", str(folder))
    return folder


@pytest.fixture
def mnist_test_root(tmp_path: Path) -> Path:
    """A copy of the real MNIST test files laid out as torchvision expects."""
    if not (SHARED_MNIST_RAW / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the real MNIST test files are not at {SHARED_MNIST_RAW}")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(SHARED_MNIST_RAW / name, raw / name)
    return tmp_path
