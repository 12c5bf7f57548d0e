"""A small, safe on-disk cache for models and results.

Entries live in a user cache directory (``$SYNTHBOOK_CACHE``, else
``$XDG_CACHE_HOME/synthbook``, else ``~/.cache/synthbook``). Every entry is a
single file that carries its own SHA-256 checksum, written to a temporary file
and moved into place with :func:`os.replace`, so a reader sees either a whole
entry or none, and two processes writing the same key cannot interleave.
Files get the permissions the umask allows (``0644`` under the usual ``022``),
so a cache that one account prepares for a class can be read by everyone.

Reading is strict: only plain tensors, numbers, strings, lists and dicts are
loaded (``torch.load(weights_only=True)``). A truncated, altered or foreign
entry is reported and rebuilt; an entry this account may not read is reported
and computed again, but never deleted (it may be someone else's).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import torch

_MAGIC = b"SYNTHBOOK-CACHE-1\n"
ENV_VAR = "SYNTHBOOK_CACHE"


class CacheDirError(OSError):
    """The cache folder (``SYNTHBOOK_CACHE``) cannot be used: a file, or not writable."""


class CorruptCacheError(ValueError):
    """A cache file exists but is truncated, altered or not a cache file."""


class UnsafeCacheError(CorruptCacheError):
    """A file passed its checksum but holds objects that are not plain data."""


def cache_root() -> Path:
    """Return the cache folder (not created): ``$SYNTHBOOK_CACHE`` or the default."""
    root = os.environ.get(ENV_VAR, "").strip()
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "synthbook"


def _where() -> str:
    root = os.environ.get(ENV_VAR, "").strip()
    if root:
        return f"{ENV_VAR}={root}"
    return f"the default cache folder {cache_root()} (set {ENV_VAR} to move it)"


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder inside the user cache directory.

    A folder that cannot be created because the cache is read-only (a cache
    one account prepared for a class) gives a warning, not an error: what is
    missing is then computed each time without being kept (see
    :func:`save_checked`).

    Raises
    ------
    CacheDirError
        If the cache root, or a folder in the way, is a file: ``SYNTHBOOK_CACHE``
        points at the wrong place, and the message names it.
    """
    base = cache_root()
    folder = base.joinpath(*parts)
    if folder.is_dir():
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise CacheDirError(
            f"cannot use {_where()} as the cache: {err.filename or base} is a file, "
            f"not a folder. Point {ENV_VAR} at a folder (or unset it)."
        ) from err
    except OSError as err:
        warnings.warn(
            f"cannot create the cache folder {folder} in {_where()} "
            f"({err.strerror or err}): results are computed but not kept. Point "
            f"{ENV_VAR} at a folder you can write to, or ask whoever owns it to run "
            f"`python -m synthbook prepare` there.",
            stacklevel=2,
        )
    return folder


def check_writable() -> Path:
    """Return the cache root after checking that results can be kept in it.

    For commands whose whole point is to fill the cache (``prepare``): they
    should stop before any work rather than warn afterwards.

    Raises
    ------
    CacheDirError
        If the cache root is a file or cannot be written; the message names
        ``SYNTHBOOK_CACHE``.
    """
    base = cache_dir()
    try:
        with tempfile.NamedTemporaryFile(dir=base, prefix=".synthbook-probe-"):
            pass
    except OSError as err:
        raise CacheDirError(
            f"cannot write to {_where()} ({err.strerror or err}). Point {ENV_VAR} "
            f"at a folder you can write to."
        ) from err
    return base


def make_key(**parts: Any) -> str:
    """Hash keyword arguments (JSON-serialisable) into a short, stable key."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _umask() -> int:
    """Return the process umask without changing it (Linux), else read and restore it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path``; move it into place on success.

    Readers never see a partial file. The file gets the mode a new file would
    get under the umask (``0666 & ~umask``), not :func:`tempfile.mkstemp`'s
    private ``0600``. On any error the temporary file is removed and ``path``
    is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as err:
        raise _naming(err, target) from err
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except OSError as err:
        Path(tmp_name).unlink(missing_ok=True)
        raise _naming(err, target) from err
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _naming(err: OSError, target: Path) -> OSError:
    """Return the same error about the file asked for, not a hidden temporary one."""
    if err.errno is None:
        return err
    return type(err)(err.errno, err.strerror, str(target))


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
    with open_atomic(path) as handle:
        handle.write(data)
    return Path(path)


def _inside_cache(path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(cache_root().resolve())
    except OSError:
        return False


def save_checked(
    path: str | os.PathLike[str], obj: Any, *, best_effort: bool | None = None
) -> Path:
    """Serialise ``obj`` with :func:`torch.save`, prefixed by its checksum, atomically.

    ``obj`` should hold only tensors, numbers, strings, lists and dicts so that
    :func:`load_checked` can read it back with ``weights_only=True``.

    Parameters
    ----------
    path : path-like
        Destination.
    obj : object
        What to store.
    best_effort : bool, optional
        If true, a destination that cannot be written (a read-only shared cache)
        gives a warning instead of an error: the result was computed and is
        used, only not kept. Default: true inside the cache folder, false
        elsewhere (a checkpoint the user asked for must not fail silently).
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest().encode()
    target = Path(path)
    try:
        return write_atomic(target, _MAGIC + digest + b"\n" + payload)
    except OSError as err:
        if best_effort is False or (best_effort is None and not _inside_cache(target)):
            raise
        warnings.warn(
            f"could not keep {target.name} in the cache ({err.strerror or err}); the "
            f"result is used but will be computed again next time. Point {ENV_VAR} "
            f"at a folder you can write to, to keep it.",
            stacklevel=2,
        )
        return target


def load_checked(path: str | os.PathLike[str]) -> Any:
    """Load a file written by :func:`save_checked`, verifying its checksum.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    PermissionError
        If this account may not read it.
    CorruptCacheError
        If the file is not a whole, unaltered cache entry.
    UnsafeCacheError
        If it passed its checksum but holds more than plain data (so it was
        not written by this package, and must not be loaded unsafely).
    """
    if Path(path).is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a cache file")
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
    try:
        return torch.load(io.BytesIO(payload), weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCacheError(
            f"{path} holds objects other than plain tensors and numbers, so it was "
            f"not written by synthbook. Do not load it with weights_only=False: that "
            f"could run code hidden in it."
        ) from err
    except (RuntimeError, EOFError) as err:
        raise CorruptCacheError(
            f"{path} passed its checksum but torch cannot read it "
            f"({str(err).splitlines()[0] if str(err) else type(err).__name__})"
        ) from err


def load_or_none(path: str | os.PathLike[str]) -> Any | None:
    """Return the cached object, or ``None`` when it must be computed (again).

    Missing: ``None``. Damaged (truncated, altered, foreign, or holding more
    than plain data): a warning, the file is removed and ``None``, so that it
    is rebuilt. Unreadable (no permission, a folder, an I/O error): a warning
    and ``None``, and the file is left alone.
    """
    target = Path(path)
    try:
        return load_checked(target)
    except FileNotFoundError:
        return None
    except CorruptCacheError as err:
        warnings.warn(
            f"ignoring a damaged cache entry and rebuilding it: {err}", stacklevel=2
        )
        try:
            target.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only shared cache: the rebuilt result is simply not kept
        return None
    except OSError as err:
        warnings.warn(
            f"cannot read the cache entry {target} ({err.strerror or err}); computing "
            f"it again and leaving the file as it is. If the cache is shared, ask its "
            f"owner to make it readable (chmod -R a+rX), or point {ENV_VAR} at a "
            f"folder of your own.",
            stacklevel=2,
        )
        return None
