import warnings

import numpy as np
import pytest
import torch

from synthbook import repro
from synthbook.repro import DEFAULT_THREADS, choose_threads, setup


def test_same_seed_same_numbers() -> None:
    setup(seed=5, verbose=False)
    first = (np.random.rand(3), torch.rand(3))
    setup(seed=5, verbose=False)
    second = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


def test_setup_fixes_threads_and_reports(capsys) -> None:
    session = setup(seed=1, threads=1)
    assert torch.get_num_threads() == 1 and session.threads == 1
    assert session.device.type in ("cpu", "cuda")
    assert "seed=1" in capsys.readouterr().out


def test_default_is_one_thread_whatever_the_machine(monkeypatch) -> None:
    monkeypatch.delenv("SYNTHBOOK_THREADS", raising=False)
    monkeypatch.setattr(repro.os, "cpu_count", lambda: 64)
    assert DEFAULT_THREADS == 1 and choose_threads() == 1


def test_thread_choice_from_environment(monkeypatch) -> None:
    monkeypatch.setattr(repro, "available_cpus", lambda: 8)
    monkeypatch.setenv("SYNTHBOOK_THREADS", "3")
    assert choose_threads() == 3
    for bad in ("many", "0", "2.5", "-1", "100000"):
        monkeypatch.setenv("SYNTHBOOK_THREADS", bad)
        with pytest.raises(ValueError, match="SYNTHBOOK_THREADS") as info:
            choose_threads()
        assert repr(bad) in str(info.value)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        choose_threads(0)
    with pytest.raises(TypeError, match="threads must be a whole number"):
        choose_threads(True)
    with pytest.raises(ValueError, match="seed must be a whole number from 0"):
        setup(seed=-1)
    with pytest.raises(TypeError, match="seed must be a whole number"):
        setup(seed=1.5)


def test_more_threads_than_usable_cpus_warns(monkeypatch) -> None:
    monkeypatch.setattr(repro, "available_cpus", lambda: 2)
    with pytest.warns(UserWarning, match=r"only 2 CPU\(s\).*at most 2"):
        assert choose_threads(4) == 4
    monkeypatch.setenv("SYNTHBOOK_THREADS", "3")
    with pytest.warns(UserWarning, match="SYNTHBOOK_THREADS=3"):
        choose_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert choose_threads(2) == 2


def test_available_cpus_respects_affinity() -> None:
    import os

    usable = repro.available_cpus()
    assert 1 <= usable <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert usable <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("progress", "env", "hidden"),
    [
        (True, None, False),
        (False, None, True),
        (True, "1", True),
        (True, "True", True),
        (True, "0", False),
        (True, "", False),
        (False, "0", True),
    ],
)
def test_progress_bars_follow_the_caller_and_tqdm_disable(
    monkeypatch: pytest.MonkeyPatch, progress: bool, env: str | None, hidden: bool
) -> None:
    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
    assert repro.hide_progress(progress) is hidden
