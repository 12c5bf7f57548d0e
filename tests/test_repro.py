import numpy as np
import pytest
import torch

from synthbook.repro import choose_threads, setup


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
    setup(seed=0, threads=2, verbose=False)


def test_thread_choice_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("SYNTHBOOK_THREADS", "3")
    assert choose_threads() == 3
    monkeypatch.setenv("SYNTHBOOK_THREADS", "many")
    with pytest.raises(ValueError, match="whole number"):
        choose_threads()
    with pytest.raises(ValueError, match="at least 1"):
        choose_threads(0)
    with pytest.raises(ValueError, match="non-negative"):
        setup(seed=-1)
