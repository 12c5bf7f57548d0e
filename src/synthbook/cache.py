"""A small, safe on-disk cache for models and results.

Entries live in a user cache directory (``$SYNTHBOOK_CACHE``, else
``$XDG_CACHE_HOME/synthbook``, else ``~/.cache/synthbook``). Every entry is a
single file that carries its own SHA-256 checksum, written to a temporary file
and moved into place with :func:`os.replace`, so a reader sees either a whole
entry or none, and two processes writing the same key cannot interleave.
A truncated or corrupt entry is reported and treated as missing, never loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

_MAGIC = b"SYNTHBOOK-CACHE-1\n"


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder inside the user cache directory."""
    root = os.environ.get("SYNTHBOOK_CACHE")
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "synthbook"
    folder = base.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make_key(**parts: Any) -> str:
    """Hash keyword arguments (JSON-serialisable) into a short, stable key."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers never see a partial file.

    Parameters
    ----------
    path : path-like
        Destination. Its folder is created if needed.
    data : bytes
        The complete contents.

    Returns
    -------
    Path
        The destination.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def save_checked(path: str | os.PathLike[str], obj: Any) -> Path:
    """Serialise ``obj`` with :func:`torch.save`, prefixed by its checksum, atomically.

    ``obj`` should hold only tensors, numbers, strings, lists and dicts so that
    :func:`load_checked` can read it back with ``weights_only=True``.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest().encode()
    return write_atomic(path, _MAGIC + digest + b"\n" + payload)


class CorruptCacheError(ValueError):
    """A cache file exists but is truncated, altered or not a cache file."""


def load_checked(path: str | os.PathLike[str]) -> Any:
    """Load a file written by :func:`save_checked`, verifying its checksum.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    CorruptCacheError
        If the file is not a whole, unaltered cache entry.
    """
    raw = Path(path).read_bytes()
    header_end = len(_MAGIC) + 65
    if not raw.startswith(_MAGIC) or len(raw) < header_end:
        raise CorruptCacheError(
            f"{path} is not a synthbook cache file (or is truncated)"
        )
    digest = raw[len(_MAGIC) : header_end - 1].decode(errors="replace")
    payload = raw[header_end:]
    if hashlib.sha256(payload).hexdigest() != digest:
        raise CorruptCacheError(f"{path} failed its checksum: truncated or altered")
    return torch.load(io.BytesIO(payload), weights_only=True)


def load_or_none(path: str | os.PathLike[str]) -> Any | None:
    """Return the cached object, or ``None`` when it is missing or corrupt.

    A corrupt entry is removed, with a warning, so that it is rebuilt.
    """
    try:
        return load_checked(path)
    except FileNotFoundError:
        return None
    except (CorruptCacheError, EOFError, RuntimeError, OSError) as err:
        warnings.warn(
            f"ignoring a damaged cache entry and rebuilding it: {err}", stacklevel=2
        )
        Path(path).unlink(missing_ok=True)
        return None
