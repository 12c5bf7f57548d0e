"""Shared fixtures: an isolated cache, no network, a warm model cache for notebooks."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthbook.cache import cache_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST_RAW = REPO.parent / "shared" / "data" / "MNIST" / "raw"
#: The model cache of whoever runs the tests (``make book`` fills it), found before
#: any test points ``SYNTHBOOK_CACHE`` elsewhere. ``SYNTHBOOK_TEST_CACHE`` overrides.
USER_CACHE = Path(os.environ.get("SYNTHBOOK_TEST_CACHE") or cache_dir())
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the synthbook cache at a fresh folder so tests never share state."""
    folder = tmp_path_factory.mktemp("synthbook-cache")
    monkeypatch.setenv("SYNTHBOOK_CACHE", str(folder))
    return folder


def _is_local(host: object) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse, at once, every connection or name lookup that would leave this machine.

    No test may depend on the network: with one, ``load_mnist("auto")`` would
    download MNIST and a test would pass or fail by what the network did.
    Loopback (the browser tests' local server, kernels) stays allowed.
    """
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def refuse(host: object) -> None:
        if not _is_local(host):
            raise ConnectionRefusedError(
                f"tests run offline: no connection to {host!r} (tests/conftest.py)"
            )

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse(address[0])
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            refuse(address[0])
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """The user's model cache with the shared models in it, prepared once a session.

    Notebook tests run their kernels against it: ``make test`` builds the book
    first, so the models every exercise needs are already there, and nothing is
    trained twice. Cache keys cover code and data, so a stale entry is never used.
    """
    USER_CACHE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SYNTHBOOK_CACHE": str(USER_CACHE)}
    subprocess.run(
        [sys.executable, "-m", "synthbook.tools.prepare", "--quiet", "--workers", "2"],
        env=env,
        check=True,
    )
    return USER_CACHE


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
