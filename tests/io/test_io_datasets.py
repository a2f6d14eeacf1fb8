"""IDX files, the real MNIST copy, scikit-learn's digits, and where datasets are looked for."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.io import (
    find_mnist,
    load_dataset,
    load_digits_set,
    load_idx_dir,
    load_source,
    read_idx,
)
from pixclass.io.datasets import FASHION_CLASSES, dataset_locations, find_dataset_dir, parse_idx

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _idx(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    header = bytes([0, 0, type_byte, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


@pytest.fixture(scope="module")
def mnist(mnist_dir: Path):
    return load_idx_dir(mnist_dir, "mnist")


def test_real_mnist_has_70000_labeled_digits(mnist, mnist_dir: Path) -> None:
    assert mnist.images.shape == (70_000, 28, 28) and mnist.images.dtype == np.uint8
    assert mnist.names[0] == "mnist:0" and mnist.names[-1] == "mnist:69999"
    assert mnist.class_names == [str(i) for i in range(10)]
    assert mnist.labels is not None
    assert np.bincount(mnist.labels[:60_000]).tolist() == MNIST_TRAIN_COUNTS
    assert len(np.unique(mnist.labels[60_000:])) == 10
    assert mnist.images.flags.writeable and mnist.source == str(mnist_dir)


def test_only_the_test_pair(tmp_path: Path, mnist, mnist_dir: Path) -> None:
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_dir / name, tmp_path / name)
    # A lone training images file without its labels is left out, not an error.
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(np.zeros((2, 28, 28), np.uint8)))
    test_only = load_idx_dir(tmp_path)
    assert len(test_only) == 10_000
    assert np.array_equal(test_only.images, mnist.images[60_000:])
    assert test_only.names[0] == f"{tmp_path.name}:0"


def test_read_idx_plain_and_gzipped_and_wide_types(tmp_path: Path) -> None:
    values = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a-ubyte").write_bytes(_idx(values))
    (tmp_path / "b-ubyte.gz").write_bytes(gzip.compress(_idx(values)))
    assert np.array_equal(read_idx(tmp_path / "a-ubyte"), values)
    assert np.array_equal(read_idx(tmp_path / "b-ubyte.gz"), values)
    wide = np.array([1, -2, 300], dtype=">i4")
    parsed = parse_idx(_idx(wide, 0x0C))
    assert parsed.tolist() == [1, -2, 300] and parsed.dtype.isnative


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x1f\x8bnot gzip at all", "cannot read IDX file"),
        (b"PK\x03\x04", "no IDX header"),
        (bytes([0, 0, 8, 3, 0, 0]), "header is cut short"),
        (_idx(np.zeros((2, 3), np.uint8))[:-1], "5 bytes follow"),
    ],
)
def test_bad_idx_files_are_clear_errors(tmp_path: Path, raw: bytes, why: str) -> None:
    (tmp_path / "bad-ubyte").write_bytes(raw)
    with pytest.raises(InputError, match=why):
        read_idx(tmp_path / "bad-ubyte")


def test_mismatched_pair_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(np.zeros((3, 2, 2), np.uint8)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(np.zeros(2, np.uint8)))
    with pytest.raises(InputError, match="2 labels for 3 images"):
        load_idx_dir(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no complete IDX pair"):
        load_idx_dir(tmp_path / "empty")


def test_idx_folder_through_load_source(tmp_path: Path) -> None:
    folder = tmp_path / "fashion"
    folder.mkdir()
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    (folder / "t10k-images-idx3-ubyte").write_bytes(_idx(images))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(_idx(np.array([9, 0], np.uint8)))
    loaded = load_source(folder)
    assert loaded.class_names == FASHION_CLASSES and loaded.names == [
        "fashion-mnist:0",
        "fashion-mnist:1",
    ]
    assert np.array_equal(loaded.images, images) and load_source(folder, size=2).images.shape == (
        2,
        2,
        2,
    )


def test_digits() -> None:
    digits = load_digits_set()
    assert digits.images.shape == (1797, 8, 8) and digits.images.dtype == np.uint8
    assert digits.images.max() == 255 and digits.images.min() == 0
    assert digits.names[5] == "digits:5" and digits.labels is not None
    assert digits.class_names == [str(i) for i in range(10)]
    assert load_dataset("Digits").names == digits.names


def test_find_mnist_search_order(tmp_path: Path, mnist_dir: Path) -> None:
    assert find_mnist(Settings(data_dir=tmp_path)) == mnist_dir.resolve()
    own = tmp_path / "mine"
    own.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (own / name).symlink_to(mnist_dir / name)
    assert find_mnist(Settings(data_dir=tmp_path, mnist_dir=str(own))) == own
    locations = dataset_locations("mnist", Settings(data_dir=tmp_path, mnist_dir=str(own)))
    assert locations[:2] == [own, tmp_path / "datasets" / "mnist"]
    assert locations[-1] == Path("/usr/share/datasets/mnist")


def test_load_dataset_mnist_uses_the_shared_copy(tmp_path: Path, mnist_dir: Path) -> None:
    loaded = load_dataset("MNIST", Settings(data_dir=tmp_path))
    assert len(loaded) == 70_000 and loaded.source == "mnist"


def test_unknown_and_missing_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="unknown dataset 'cifar'; known datasets: mnist"):
        load_dataset("cifar")
    monkeypatch.setattr("pixclass.io.datasets.dataset_locations", lambda *a: [tmp_path / "x"])
    with pytest.raises(InputError) as caught:
        load_dataset("fashion-mnist", Settings(data_dir=tmp_path))
    assert "apt-get install -y dataset-fashion-mnist" in str(caught.value)
    assert "pixclass datasets download fashion-mnist" in str(caught.value)


@pytest.mark.skipif(
    find_dataset_dir("fashion-mnist", Settings(data_dir=Path("/nonexistent"))) is None,
    reason="Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)",
)
def test_fashion_mnist_when_installed(tmp_path: Path) -> None:
    loaded = load_dataset("fashion-mnist", Settings(data_dir=tmp_path))
    assert loaded.images.shape == (70_000, 28, 28)
    assert loaded.class_names == FASHION_CLASSES
    assert loaded.names[0] == "fashion-mnist:0"
