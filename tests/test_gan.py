"""The conditional GAN: shapes, determinism, snapshots, checkpoints, bad inputs."""

import inspect
import math
from dataclasses import replace

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


@pytest.fixture(scope="module")
def trained(small_data: MnistData) -> gan.TrainResult:
    return gan.train_gan(small_data, TINY, steps=3, progress=False)


def _weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in module.state_dict().values()]


def test_shapes_range_and_soft_labels(trained: gan.TrainResult) -> None:
    images = gan.generate(trained.generator, 7, 5, seed=1)
    assert images.shape == (5, 28, 28) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    soft = torch.zeros(4, 10)
    soft[:, 4], soft[:, 9] = 0.5, 0.5
    assert gan.generate(trained.generator, soft, seed=0).shape == (4, 28, 28)
    assert gan.generate(trained.generator, [0, 1, 2], seed=0).shape == (3, 28, 28)


def test_two_runs_with_the_same_seed_give_identical_weights(
    small_data: MnistData,
) -> None:
    # Trained twice in this process, nothing read from a cache.
    a = gan.train_gan(small_data, TINY, steps=12, seed=3, progress=False)
    b = gan.train_gan(small_data, TINY, steps=12, seed=3, progress=False)
    c = gan.train_gan(small_data, TINY, steps=12, seed=4, progress=False)
    for model in ("generator", "discriminator"):
        for x, y in zip(
            _weights(getattr(a, model)), _weights(getattr(b, model)), strict=True
        ):
            assert torch.equal(x, y)
    assert a.history["d_loss"] == b.history["d_loss"]
    assert not torch.equal(_weights(a.generator)[0], _weights(c.generator)[0])


def test_history_film_and_snapshots(small_data: MnistData) -> None:
    result = gan.train_gan(small_data, TINY, steps=11, progress=False)
    assert result.steps == 11
    for key in gan.HISTORY_KEYS:
        assert len(result.history[key]) == 11
    assert all(0.0 <= v <= 1.0 for v in result.history["d_accuracy"])
    assert [f["step"] for f in result.history["film"]] == [0, 5, 10, 11]
    assert result.history["film"][0]["images"].shape == (
        10 * gan.FILM_PER_DIGIT,
        28,
        28,
    )
    steps = [step for step, _ in result.snapshots]
    assert steps == [0, 3, 6, 8, 11]  # 0, four more spread out, the last included
    # The last snapshot is the generator we sample from; the first is untrained.
    last = gan.generator_from_snapshot(TINY, result.snapshots[-1][1])
    first = gan.generator_from_snapshot(TINY, result.snapshots[0][1])
    z = gan.sample_latents(4, TINY.latent_dim, seed=2)
    final = gan.generate(result.generator, [1, 2, 3, 4], z=z)
    assert torch.equal(gan.generate(last, [1, 2, 3, 4], z=z), final)
    assert not torch.equal(gan.generate(first, [1, 2, 3, 4], z=z), final)


def test_time_budget_keeps_five_snapshots_spread_over_the_run(
    small_data: MnistData,
) -> None:
    result = gan.train_gan(
        small_data, replace(TINY, film_every=1), seconds=0.5, progress=False
    )
    steps = [step for step, _ in result.snapshots]
    assert result.steps >= 1 and result.seconds < 5
    assert steps[0] == 0 and steps[-1] == result.steps
    assert len(steps) == min(gan.SNAPSHOTS, result.steps + 1)
    assert steps == sorted(set(steps))


def test_generation_does_not_touch_global_rng(trained: gan.TrainResult) -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    gan.generate(trained.generator, 1, 4, seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_truncation_and_noise_scale() -> None:
    z = gan.sample_latents(500, 16, seed=0, truncation=0.5)
    assert float(z.abs().max()) <= 0.5
    wide = gan.sample_latents(500, 16, seed=0, noise_scale=3.0)
    assert torch.allclose(wide, 3.0 * gan.sample_latents(500, 16, seed=0))


def test_class_labels() -> None:
    assert gan.class_labels(2).tolist() == [d for d in range(10) for _ in range(2)]
    assert gan.class_labels(0).numel() == 0


def test_interpolation_endpoints_match_plain_generation(
    trained: gan.TrainResult,
) -> None:
    z = gan.sample_latents(1, TINY.latent_dim, seed=5)
    row = gan.interpolate(
        trained.generator, z_start=z, z_end=z, label_start=4, label_end=9, steps=5
    )
    assert row.shape == (5, 28, 28)
    assert torch.allclose(row[0], gan.generate(trained.generator, [4], z=z)[0])
    assert torch.allclose(row[-1], gan.generate(trained.generator, [9], z=z)[0])


def test_adversarial_loss_matches_the_hinge_formula() -> None:
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-3.0, 0.0])
    # real costs max(0, 1 - s): 0, 0.5, 2 -> mean 5/6; fake max(0, 1 + s): 0, 1 -> 1/2
    assert float(gan.adversarial_loss(real, fake)) == pytest.approx(5 / 6 + 1 / 2)
    bce = gan.adversarial_loss(real, fake, "bce")
    expected = np.mean(np.log1p(np.exp(-real.numpy()))) + np.mean(
        np.log1p(np.exp(fake.numpy()))
    )
    assert float(bce) == pytest.approx(expected, rel=1e-6)


def test_cache_reuses_and_rebuilds_damaged_entries(small_data: MnistData) -> None:
    first = gan.load_or_train(small_data, TINY, steps=4, progress=False)
    path = gan.checkpoint_path(small_data, TINY, steps=4, seed=0)
    assert path.exists()
    again = gan.load_or_train(small_data, TINY, steps=4, progress=False)
    assert [s for s, _ in again.snapshots] == [s for s, _ in first.snapshots]
    assert again.history["d_loss"] == first.history["d_loss"]
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.warns(UserWarning, match="rebuilding"):
        rebuilt = gan.load_or_train(small_data, TINY, steps=4, progress=False)
    assert torch.equal(
        gan.generate(rebuilt.generator, 2, 3), gan.generate(first.generator, 2, 3)
    )
    cache.load_checked(path)  # whole again


def test_checkpoint_round_trip(tmp_path, trained: gan.TrainResult) -> None:
    path = gan.save_checkpoint(trained, tmp_path / "g.pt")
    loaded = gan.load_checkpoint(path)
    assert loaded.config == TINY and loaded.steps == trained.steps
    for model in ("generator", "discriminator"):
        for x, y in zip(
            _weights(getattr(loaded, model)),
            _weights(getattr(trained, model)),
            strict=True,
        ):
            assert torch.equal(x, y)
    assert [s for s, _ in loaded.snapshots] == [s for s, _ in trained.snapshots]
    for (_, a), (_, b) in zip(loaded.snapshots, trained.snapshots, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)
    frames = zip(loaded.history["film"], trained.history["film"], strict=True)
    assert all(np.array_equal(x["images"], y["images"]) for x, y in frames)
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(cache.CorruptCacheError):
        gan.load_checkpoint(tmp_path / "bad.pt")


def test_checkpoint_of_another_version_is_refused_by_name(
    tmp_path, trained: gan.TrainResult
) -> None:
    state = gan.result_to_state(trained)
    old = {k: v for k, v in state.items() if k not in ("format", "snapshots")}
    old["config"] = {**old["config"], "arch": "mlp", "projection": True}
    cache.save_checked(tmp_path / "old.pt", old)  # the layout before format versions
    with pytest.raises(
        gan.CheckpointVersionError, match="another version of synthbook"
    ):
        gan.load_checkpoint(tmp_path / "old.pt")
    wider = gan.result_to_state(
        replace(trained, config=replace(TINY, width=64))
    )  # weights that do not fit the recipe it names
    cache.save_checked(tmp_path / "wider.pt", wider)
    with pytest.raises(gan.CheckpointVersionError, match="retrain with"):
        gan.load_checkpoint(tmp_path / "wider.pt")


def test_cache_key_follows_the_training_code_only(
    monkeypatch, small_data: MnistData
) -> None:
    key = gan.checkpoint_path(small_data, TINY, steps=4, seed=0)
    read_source = inspect.getsource
    edits: dict = {}

    def edited_source(obj):
        source = read_source(obj)
        return edits[obj](source) if obj in edits else source

    assert read_source(gan.train).startswith('"""Training the conditional GAN')
    monkeypatch.setattr(inspect, "getsource", edited_source)
    # Sampling code, docstrings and comments of the training code: same model.
    edits[gan.sample] = lambda src: src + "\n\ndef extra():\n    return 1\n"
    edits[gan.train] = lambda src: (
        src.replace(
            '"""Training the conditional GAN', '"""Reworded: training the GAN', 1
        )
        + "\n# a new comment\n"
    )
    assert gan.checkpoint_path(small_data, TINY, steps=4, seed=0) == key
    # A change to what the training code does: a new model.
    edits[gan.train] = lambda src: src.replace(
        "def ema_decay_at(config: GANConfig, step: int) -> float:",
        "def ema_decay_at(config: GANConfig, step: int) -> float:\n    step += 1",
        1,
    )
    assert gan.checkpoint_path(small_data, TINY, steps=4, seed=0) != key


# ---------------------------------------------------------------------------
# Bad inputs: each names the argument
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"aux_weight": math.nan}, ValueError, "aux_weight"),
        ({"aux_weight": -0.5}, ValueError, "aux_weight"),
        ({"lr_g": math.inf}, ValueError, "lr_g"),
        ({"lr_d": 0.0}, ValueError, "lr_d"),
        ({"beta1": 1.0}, ValueError, "beta1"),
        ({"ema_decay": math.nan}, ValueError, "ema_decay"),
        ({"ema_warmup": 0.5}, ValueError, "ema_warmup"),
        ({"d_dropout": 1.5}, ValueError, "d_dropout"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"width": 2.5}, TypeError, "width"),
        ({"latent_dim": True}, TypeError, "latent_dim"),
        ({"loss": "wasserstein"}, ValueError, "loss"),
    ],
)
def test_bad_config_is_refused(kwargs: dict, error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        gan.GANConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n": 3, "latent_dim": 4, "truncation": 0}, ValueError, "truncation"),
        ({"n": 3, "latent_dim": 4, "truncation": math.nan}, ValueError, "truncation"),
        ({"n": 3, "latent_dim": 4, "noise_scale": math.nan}, ValueError, "noise_scale"),
        ({"n": 3, "latent_dim": 4, "noise_scale": math.inf}, ValueError, "noise_scale"),
        ({"n": 3, "latent_dim": 4, "noise_scale": -1}, ValueError, "noise_scale"),
        ({"n": -1, "latent_dim": 4}, ValueError, "n"),
        ({"n": 3, "latent_dim": 4, "seed": 1.5}, TypeError, "seed"),
    ],
)
def test_bad_sampling_knobs(kwargs: dict, error: type, name: str) -> None:
    with pytest.raises(error, match=name):
        gan.sample_latents(**kwargs)


def test_bad_generate_calls_name_the_argument(trained: gan.TrainResult) -> None:
    g = trained.generator
    with pytest.raises(TypeError, match="labels: the digit must be a whole number"):
        gan.generate(g, 3.0, n=5)
    with pytest.raises(ValueError, match="labels must be a digit 0 to 9"):
        gan.generate(g, -1, 2)
    with pytest.raises(ValueError, match="labels must be a digit 0 to 9"):
        gan.generate(g, 10, 2)
    with pytest.raises(ValueError, match="^n: "):
        gan.generate(g, 3)
    with pytest.raises(ValueError, match="0 to 9"):
        gan.generate(g, [1, 12])
    with pytest.raises(ValueError, match="single digit"):
        gan.generate(g, [1, 2], 5)
    with pytest.raises(ValueError, match="noise_scale"):
        gan.generate(g, 3, 2, noise_scale=math.nan)
    with pytest.raises(ValueError, match="truncation"):
        gan.generate(g, 3, 2, truncation=math.inf)
    with pytest.raises(ValueError, match="z must have shape"):
        gan.generate(g, [1, 2], z=torch.zeros(3, TINY.latent_dim))
    z = torch.zeros(2, TINY.latent_dim)
    z[1, 0] = math.nan
    with pytest.raises(ValueError, match="^z holds 1 NaN"):
        gan.generate(g, [1, 2], z=z)
    weights = torch.full((2, 10), 0.1)
    weights[0, 3] = math.inf
    with pytest.raises(ValueError, match="^labels holds 1 NaN or infinite"):
        gan.generate(g, weights)


def test_bad_interpolate_calls_name_the_argument(trained: gan.TrainResult) -> None:
    g = trained.generator
    with pytest.raises(ValueError, match="steps"):
        gan.interpolate(g, label_start=1, label_end=2, steps=1)
    with pytest.raises(ValueError, match="label_end"):
        gan.interpolate(g, label_start=1, label_end=-1)
    bad = torch.full((TINY.latent_dim,), math.nan)
    with pytest.raises(ValueError, match="z_start"):
        gan.interpolate(g, z_start=bad, label_start=1, label_end=2)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({}, ValueError, "give a budget"),
        ({"seconds": math.nan}, ValueError, "seconds"),
        ({"seconds": math.inf}, ValueError, "seconds"),
        ({"seconds": -1.0}, ValueError, "seconds"),
        ({"steps": math.inf}, TypeError, "steps"),
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 2.5}, TypeError, "steps"),
        ({"steps": 2, "seed": -1}, ValueError, "seed"),
        ({"seconds": 1e-9}, ValueError, "seconds=1e-09 ran out before the first"),
    ],
)
def test_bad_budgets(
    small_data: MnistData, kwargs: dict, error: type, name: str
) -> None:
    with pytest.raises(error, match=name):
        gan.train_gan(small_data, TINY, progress=False, **kwargs)


def test_non_finite_training_images_are_refused(small_data: MnistData) -> None:
    # MnistData refuses NaN when it is made; an in-place edit afterwards is caught
    # where training starts.
    poisoned = MnistData(
        small_data.images.clone(), small_data.labels, small_data.source
    )
    poisoned.images[7, 3, 4] = math.nan
    with pytest.raises(ValueError, match="data.images holds 1 NaN"):
        gan.train_gan(poisoned, TINY, steps=2, progress=False)


def test_training_stops_at_the_step_where_a_loss_diverges(
    small_data: MnistData,
) -> None:
    class Exploding(gan.DiscriminatorUpdate):
        def step(self, real, labels, fake, fake_labels):
            record = super().step(real, labels, fake, fake_labels)
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls == 4:  # the discriminator's weights blow up at step 4
                with torch.no_grad():
                    self.discriminator.out.bias.fill_(math.inf)
            return record

    with pytest.raises(FloatingPointError, match="step 4.*g_loss"):
        gan.train_gan(small_data, TINY, steps=10, progress=False, d_update=Exploding())


def test_too_few_images_for_a_batch(small_data: MnistData) -> None:
    with pytest.raises(ValueError, match="batch_size=32"):
        gan.train_gan(small_data.subset(np.arange(10)), TINY, steps=1, progress=False)


def test_cli_train_and_sample(tmp_path, capsys) -> None:
    from synthbook.tools import cli

    checkpoint = tmp_path / "g.pt"
    args = ["train-gan", "--steps", "2", "--data", "embedded", "--out", str(checkpoint)]
    assert cli.main(args) == 0
    out = tmp_path / "samples.npz"
    sample = ["sample", "--checkpoint", str(checkpoint), "--out", str(out)]
    assert cli.main([*sample, "--per-class", "3"]) == 0
    with np.load(out) as saved:
        assert saved["images"].shape == (30, 28, 28)
        assert saved["images"].dtype == np.float32
        assert saved["labels"].dtype == np.int64
        assert list(saved["labels"][:4]) == [0, 0, 0, 1]
        assert 0.0 <= saved["images"].min() and saved["images"].max() <= 1.0
    assert cli.main(sample) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main([*sample, "--per-class", "1", "--force"]) == 0
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

    monkeypatch.setattr(gan.train, "train_gan", no_training)
    # What every chapter's set-up cell does.
    setup(seed=0, verbose=False)
    splits = book_splits(load_mnist("embedded", verbose=False), seed=0)
    result = gan.load_or_train(
        splits.train, gan.GANConfig(), steps=gan.BOOK_STEPS, seed=0, progress=False
    )
    assert result.steps == 3
    assert judged == [(splits.judge.fingerprint(), 0)]
