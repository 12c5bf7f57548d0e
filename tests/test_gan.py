from dataclasses import replace as dataclass_replace

import numpy as np
import pytest
import torch

from synthbook import cache, gan
from synthbook.data import MnistData, book_splits, load_mnist

TINY = gan.GANConfig(width=32, latent_dim=8, batch_size=32, film_every=5)


@pytest.fixture(scope="module")
def small_data() -> MnistData:
    data = load_mnist("embedded", verbose=False)
    return book_splits(data).train.subset(np.arange(0, 3000, 10))


def test_shapes_range_and_soft_labels(small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, steps=3, progress=False)
    images = gan.generate(result.generator, 7, 5, seed=1)
    assert images.shape == (5, 28, 28) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    soft = torch.zeros(4, 10)
    soft[:, 4], soft[:, 9] = 0.5, 0.5
    assert gan.generate(result.generator, soft, seed=0).shape == (4, 28, 28)
    assert gan.generate(result.generator, [0, 1, 2], seed=0).shape == (3, 28, 28)


def test_same_seed_same_samples_and_history(small_data: MnistData) -> None:
    a = gan.train_gan(small_data, TINY, steps=12, seed=3, progress=False)
    b = gan.train_gan(small_data, TINY, steps=12, seed=3, progress=False)
    c = gan.train_gan(small_data, TINY, steps=12, seed=4, progress=False)
    same_a, same_b = (gan.generate(r.generator, 3, 6, seed=0) for r in (a, b))
    assert torch.equal(same_a, same_b)
    assert a.history["d_loss"] == b.history["d_loss"]
    assert not torch.equal(same_a, gan.generate(c.generator, 3, 6, seed=0))


def test_history_and_film(small_data: MnistData) -> None:
    seen = []
    result = gan.train_gan(
        small_data,
        TINY,
        steps=11,
        progress=False,
        callback=lambda step, history, generator: seen.append(step),
    )
    assert seen == list(range(1, 12)) and result.steps == 11
    for key in ("g_loss", "d_loss", "d_real", "d_fake", "d_accuracy"):
        assert len(result.history[key]) == 11
    assert all(0.0 <= v <= 1.0 for v in result.history["d_accuracy"])
    assert [f["step"] for f in result.history["film"]] == [0, 5, 10, 11]
    assert result.history["film"][0]["images"].shape == (
        10 * gan.FILM_PER_DIGIT,
        28,
        28,
    )


def test_time_budget_stops(small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, seconds=0.5, progress=False)
    assert result.steps >= 1 and result.seconds < 5


def test_generation_does_not_touch_global_rng(small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, steps=2, progress=False)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    gan.generate(result.generator, 1, 4, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_truncation_and_noise_scale() -> None:
    z = gan.sample_latents(500, 16, seed=0, truncation=0.5)
    assert float(z.abs().max()) <= 0.5
    wide = gan.sample_latents(500, 16, seed=0, noise_scale=3.0)
    assert torch.allclose(wide, 3.0 * gan.sample_latents(500, 16, seed=0))


def test_interpolation_endpoints_match_plain_generation(small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, steps=2, progress=False)
    z = gan.sample_latents(1, TINY.latent_dim, seed=5)
    row = gan.interpolate(
        result.generator, z_start=z, z_end=z, label_start=4, label_end=9, steps=5
    )
    assert row.shape == (5, 28, 28)
    assert torch.allclose(
        row[0], gan.generate(result.generator, [4], z=z)[0], atol=1e-6
    )
    assert torch.allclose(
        row[-1], gan.generate(result.generator, [9], z=z)[0], atol=1e-6
    )


def test_cache_reuses_and_rebuilds_damaged_entries(small_data: MnistData) -> None:
    first = gan.load_or_train(small_data, TINY, steps=4, progress=False)
    path = gan.checkpoint_path(small_data, TINY, steps=4, seed=0)
    assert path.exists()
    again = gan.load_or_train(small_data, TINY, steps=4, progress=False)
    assert torch.equal(
        gan.generate(first.generator, 2, 3), gan.generate(again.generator, 2, 3)
    )
    assert again.history["d_loss"] == first.history["d_loss"]
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = gan.load_or_train(small_data, TINY, steps=4, progress=False)
    assert torch.equal(
        gan.generate(rebuilt.generator, 2, 3), gan.generate(first.generator, 2, 3)
    )
    cache.load_checked(path)  # whole again


def test_checkpoint_round_trip_and_refusal(tmp_path, small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, steps=2, progress=False)
    path = gan.save_checkpoint(result, tmp_path / "g.pt")
    loaded = gan.load_checkpoint(path)
    assert loaded.config == TINY and loaded.steps == 2
    assert torch.equal(
        gan.generate(loaded.generator, 5, 2), gan.generate(result.generator, 5, 2)
    )
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(cache.CorruptCacheError):
        gan.load_checkpoint(tmp_path / "bad.pt")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gan.GANConfig(arch="transformer"), "unknown arch"),
        (lambda: gan.GANConfig(batch_size=0), "positive"),
        (lambda: gan.sample_latents(3, 4, truncation=0), "truncation"),
    ],
)
def test_bad_configuration(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_calls(small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, steps=1, progress=False)
    with pytest.raises(ValueError, match="budget"):
        gan.train_gan(small_data, TINY, progress=False)
    with pytest.raises(ValueError, match="0 to 9"):
        gan.generate(result.generator, 10, 2)
    with pytest.raises(ValueError, match="n >= 1"):
        gan.generate(result.generator, 3)
    with pytest.raises(ValueError, match="0 to 9"):
        gan.generate(result.generator, [1, 12])
    with pytest.raises(ValueError, match="shape"):
        gan.generate(result.generator, [1, 2], z=torch.zeros(3, TINY.latent_dim))


def test_conv_variant_trains(small_data: MnistData) -> None:
    config = gan.GANConfig(
        arch="conv", width=32, latent_dim=8, batch_size=16, projection=False
    )
    result = gan.train_gan(small_data, config, steps=2, progress=False)
    assert gan.generate(result.generator, 0, 2).shape == (2, 28, 28)


def test_two_argument_callback_and_ema_generator(small_data: MnistData) -> None:
    seen = []
    result = gan.train_gan(
        small_data,
        TINY,
        steps=3,
        progress=False,
        callback=lambda step, history: seen.append(len(history["g_loss"])),
    )
    assert seen == [1, 2, 3]
    raw = gan.train_gan(
        small_data, dataclass_replace(TINY, ema_decay=0.0), steps=3, progress=False
    )
    # The averaged generator lags the trained one, so the two give different digits.
    assert not torch.equal(
        gan.generate(result.generator, 1, 2), gan.generate(raw.generator, 1, 2)
    )


def test_keras_baseline_architecture_runs(small_data: MnistData) -> None:
    config = gan.GANConfig(
        arch="keras-cgan",
        latent_dim=8,
        batch_size=8,
        projection=False,
        aux_weight=0.0,
        loss="bce",
        ema_decay=0.0,
    )
    result = gan.train_gan(small_data, config, steps=1, progress=False)
    images = gan.generate(result.generator, [0, 9], seed=0)
    assert images.shape == (2, 28, 28) and float(images.min()) >= 0.0


def test_generate_rejects_n_with_several_labels(small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, steps=1, progress=False)
    with pytest.raises(ValueError, match="single digit"):
        gan.generate(result.generator, [1, 2], 5)
    with pytest.raises(ValueError, match="steps"):
        gan.interpolate(result.generator, label_start=1, label_end=2, steps=1)
    with pytest.raises(ValueError, match="d_dropout"):
        gan.GANConfig(d_dropout=1.5)


def test_cli_train_and_sample(tmp_path, capsys) -> None:
    from synthbook.tools import cli

    checkpoint = tmp_path / "g.pt"
    assert (
        cli.main(
            [
                "train-gan",
                "--steps",
                "2",
                "--data",
                "embedded",
                "--out",
                str(checkpoint),
            ]
        )
        == 0
    )
    out = tmp_path / "samples.npz"
    assert (
        cli.main(
            [
                "sample",
                "--checkpoint",
                str(checkpoint),
                "--per-class",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with np.load(out) as saved:
        assert (
            saved["images"].shape == (30, 28, 28)
            and saved["images"].dtype == np.float32
        )
        assert saved["labels"].dtype == np.int64 and list(saved["labels"][:4]) == [
            0,
            0,
            0,
            1,
        ]
        assert 0.0 <= saved["images"].min() and saved["images"].max() <= 1.0
    assert cli.main(["sample", "--checkpoint", str(checkpoint), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "sample",
                "--checkpoint",
                str(checkpoint),
                "--per-class",
                "1",
                "--out",
                str(out),
                "--force",
            ]
        )
        == 0
    )
    assert cli.main(["bench", "nonsense"]) == 2


def test_cli_prepare_fills_the_cache_the_chapters_read(monkeypatch, capsys) -> None:
    from synthbook import metrics
    from synthbook.repro import setup
    from synthbook.tools import cli

    monkeypatch.setattr(gan, "BOOK_STEPS", 3)
    judged = []  # the judge trains for a minute: record what it would be trained on
    monkeypatch.setattr(
        metrics,
        "load_or_train_judge",
        lambda data, seed=0: judged.append((data.fingerprint(), seed)),
    )
    assert cli.main(["prepare", "--data", "embedded", "--quiet"]) == 0
    assert "are in the cache" in capsys.readouterr().out

    def no_training(*args, **kwargs):
        raise AssertionError(
            "a chapter had to train a GAN that prepare should have cached"
        )

    monkeypatch.setattr(gan, "train_gan", no_training)
    # What every chapter's set-up cell does.
    setup(seed=0, verbose=False)
    splits = book_splits(load_mnist("embedded", verbose=False), seed=0)
    result = gan.load_or_train(
        splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=0, progress=False
    )
    assert result.steps == 3
    assert judged == [(splits.judge.fingerprint(), 0)]
