"""`prepare`: the shared models, cached one by one, so an interruption loses little."""

from __future__ import annotations

import pytest

from synthbook import gan
from synthbook.tools import prepare


def test_an_interrupted_prepare_keeps_what_it_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gan, "BOOK_STEPS", 3)

    def interrupted(progress: bool) -> None:
        raise KeyboardInterrupt

    items = (
        prepare.Item("the book's GAN", prepare.book_gan),
        prepare.Item("the judge", interrupted),
    )
    monkeypatch.setattr(prepare, "ITEMS", items)
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare(workers=1, progress=False)

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("prepare trained the GAN again after the interruption")

    monkeypatch.setattr(gan, "train_gan", no_training)
    monkeypatch.setattr(prepare, "ITEMS", items[:1])
    done = prepare.prepare(workers=1, progress=False)
    assert [d.name for d in done] == ["the book's GAN"]
    assert done[0].peak_rss_mb > 0


def test_workers_must_be_positive() -> None:
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        prepare.prepare(workers=0)
