import multiprocessing as mp
import os
import stat
from pathlib import Path

import pytest
import torch

from synthbook import cache


def test_round_trip_with_weights_only(tmp_path) -> None:
    path = tmp_path / "entry.pt"
    cache.save_checked(
        path, {"w": torch.arange(5.0), "meta": {"steps": 3, "name": "x"}}
    )
    loaded = cache.load_checked(path)
    assert torch.equal(loaded["w"], torch.arange(5.0)) and loaded["meta"]["steps"] == 3


def test_truncated_entry_is_detected_and_removed(tmp_path) -> None:
    path = tmp_path / "entry.pt"
    cache.save_checked(path, {"w": torch.randn(100)})
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(cache.CorruptCacheError, match="checksum"):
        cache.load_checked(path)
    with pytest.warns(UserWarning, match="rebuilding"):
        assert cache.load_or_none(path) is None
    assert not path.exists()


def test_foreign_file_is_not_loaded(tmp_path) -> None:
    path = tmp_path / "entry.pt"
    path.write_bytes(b"hello")
    with pytest.raises(cache.CorruptCacheError, match="not a synthbook cache file"):
        cache.load_checked(path)


def test_missing_entry_is_none(tmp_path) -> None:
    assert cache.load_or_none(tmp_path / "absent.pt") is None


def test_key_is_stable_and_order_free() -> None:
    assert cache.make_key(a=1, b="x") == cache.make_key(b="x", a=1)
    assert cache.make_key(a=1) != cache.make_key(a=2)


def _writer(path: str, value: float) -> None:
    for _ in range(20):
        cache.save_checked(path, {"w": torch.full((20000,), value)})


def test_concurrent_writers_never_leave_a_corrupt_entry(tmp_path) -> None:
    path = str(tmp_path / "shared.pt")
    procs = [
        mp.get_context("spawn").Process(target=_writer, args=(path, v))
        for v in (1.0, 2.0)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    loaded = cache.load_checked(path)["w"]
    assert loaded.unique().numel() == 1 and float(loaded[0]) in (1.0, 2.0)
    assert [p.name for p in tmp_path.iterdir()] == ["shared.pt"]


def test_cache_dir_honours_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYNTHBOOK_CACHE", str(tmp_path / "c"))
    assert cache.cache_dir("gan") == tmp_path / "c" / "gan"
    assert (tmp_path / "c" / "gan").is_dir()


# Shared caches, permissions and hostile files ------------------------------------------


def _hostile_entry(path) -> None:
    """A file with a valid header and checksum whose payload is not plain data."""
    import hashlib
    import io

    class Payload:
        def __reduce__(self):
            return (print, ("this would run on load",))

    buffer = io.BytesIO()
    torch.save({"w": Payload()}, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest().encode()
    path.write_bytes(cache._MAGIC + digest + b"\n" + payload)


def test_hostile_payload_is_refused_explained_and_rebuilt(tmp_path, capsys) -> None:
    path = tmp_path / "entry.pt"
    _hostile_entry(path)
    with pytest.raises(cache.UnsafeCacheError) as info:
        cache.load_checked(path)
    message = str(info.value)
    assert "not written by synthbook" in message
    assert "Do not load it with weights_only=False" in message
    assert "will likely succeed" not in message  # torch's own advice is not passed on
    with pytest.warns(UserWarning, match="rebuilding"):
        assert cache.load_or_none(path) is None
    assert not path.exists()
    assert "this would run" not in capsys.readouterr().out


def test_files_respect_the_umask(tmp_path) -> None:
    old = os.umask(0o027)
    try:
        path = cache.save_checked(tmp_path / "entry.pt", {"w": torch.ones(2)})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path = cache.write_atomic(tmp_path / "other.bin", b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~old


def test_an_unreadable_entry_is_reported_and_never_deleted(
    tmp_path, monkeypatch
) -> None:
    path = cache.save_checked(tmp_path / "entry.pt", {"w": torch.ones(2)})
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.warns(
        UserWarning, match="cannot read the cache entry.*leaving the file"
    ):
        assert cache.load_or_none(path) is None
    assert path.exists()


def test_a_folder_in_place_of_an_entry_is_left_alone(tmp_path) -> None:
    folder = tmp_path / "entry.pt"
    folder.mkdir()
    with pytest.warns(UserWarning, match="cannot read"):
        assert cache.load_or_none(folder) is None
    assert folder.is_dir()


def test_cache_variable_pointing_at_a_file_is_named(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("SYNTHBOOK_CACHE", str(blocker))
    with pytest.raises(cache.CacheDirError, match="SYNTHBOOK_CACHE=.*is a file"):
        cache.cache_dir("gan")
    with pytest.raises(cache.CacheDirError, match="SYNTHBOOK_CACHE"):
        cache.check_writable()


def test_read_only_cache_is_used_for_reading_and_warns_on_writing(
    tmp_path, monkeypatch
) -> None:
    root = tmp_path / "shared"
    monkeypatch.setenv("SYNTHBOOK_CACHE", str(root))
    entry = cache.save_checked(cache.cache_dir("gan") / "a.pt", {"w": torch.ones(1)})

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(cache.tempfile, "NamedTemporaryFile", refuse)
    monkeypatch.setattr(Path, "mkdir", refuse)
    assert float(cache.load_or_none(entry)["w"]) == 1.0  # reading still works
    with pytest.warns(
        UserWarning, match="cannot create the cache folder.*SYNTHBOOK_CACHE"
    ):
        folder = cache.cache_dir("tails")
    with pytest.warns(UserWarning, match="could not keep b.pt.*SYNTHBOOK_CACHE"):
        cache.save_checked(folder / "b.pt", {"w": torch.ones(1)})
    with pytest.raises(PermissionError):  # a file the user asked for is not best effort
        cache.save_checked(tmp_path / "elsewhere.pt", {"w": torch.ones(1)})
    with pytest.raises(cache.CacheDirError, match="cannot write to SYNTHBOOK_CACHE="):
        cache.check_writable()


def test_a_failed_write_names_the_file_asked_for_and_leaves_nothing(
    tmp_path, monkeypatch
) -> None:
    import errno

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.os, "fsync", full)
    target = tmp_path / "model.pt"
    with pytest.raises(OSError) as info:
        cache.save_checked(target, {"w": torch.ones(1)}, best_effort=False)
    assert info.value.filename == str(target) and info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
