import multiprocessing as mp

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
