"""The feature cache: computed once per image content, safe against a killed writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixclass.errors import InputError
from pixclass.features import cache, get_extractor
from pixclass.features.base import ColorMode
from pixclass.features.cache import (
    extract_features,
    extractor_key,
    image_keys,
)


class CountingExtractor:
    """A cacheable stand-in for a network: row i is the mean of image i, and it counts rows."""

    name = "counting"
    color_mode: ColorMode | None = None
    image_size: tuple[int, int] | None = None
    cacheable = True
    cache_ignore_params = ("batch_size",)

    def __init__(self, *, scale: float = 1.0, batch_size: int = 8) -> None:
        self.scale = scale
        self.batch_size = batch_size
        self.weights_sha256 = "abc123"
        self.rows_computed = 0

    def get_params(self) -> dict[str, Any]:
        return {"scale": self.scale, "batch_size": self.batch_size}

    def transform(self, images: np.ndarray, *, progress: Any = None) -> np.ndarray:
        self.rows_computed += len(images)
        if progress is not None:
            progress("embed", len(images), len(images))
        flat = images.reshape(len(images), int(np.prod(images.shape[1:]))).astype(np.float32)
        return np.stack([flat.mean(axis=1), flat.max(axis=1) * self.scale], axis=1)


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(12, 6, 6), dtype=np.uint8)


def test_second_run_computes_nothing_and_returns_the_same_rows(
    images: np.ndarray, tmp_path: Path
) -> None:
    extractor = CountingExtractor()
    keys = image_keys(images)
    first = extract_features(extractor, images, keys, tmp_path)
    assert extractor.rows_computed == 12
    np.testing.assert_array_equal(first, extractor.transform(images))
    extractor.rows_computed = 0

    fresh = CountingExtractor()  # a new process would build a new extractor
    second = extract_features(fresh, images, keys, tmp_path)
    assert fresh.rows_computed == 0
    np.testing.assert_array_equal(first, second)
    assert second.dtype == np.float32


def test_only_new_images_are_computed(images: np.ndarray, tmp_path: Path) -> None:
    extractor = CountingExtractor()
    keys = image_keys(images)
    extract_features(extractor, images[:5], keys[:5], tmp_path)
    order = [7, 0, 11, 3, 5, 2]
    result = extract_features(extractor, images[order], [keys[i] for i in order], tmp_path)
    assert extractor.rows_computed == 5 + 3  # 7, 11, 5 were new
    np.testing.assert_array_equal(result, extractor.transform(images[order]))


def test_repeated_images_are_computed_once(images: np.ndarray, tmp_path: Path) -> None:
    extractor = CountingExtractor()
    batch = images[[1, 2, 1, 1]]
    result = extract_features(extractor, batch, image_keys(batch), tmp_path)
    assert extractor.rows_computed == 2
    np.testing.assert_array_equal(result[0], result[3])


def test_parameters_that_change_features_change_the_key() -> None:
    base = extractor_key(CountingExtractor())
    assert base.startswith("counting-")
    assert extractor_key(CountingExtractor(batch_size=64)) == base  # speed only
    assert extractor_key(CountingExtractor(scale=2.0)) != base
    other_weights = CountingExtractor()
    other_weights.weights_sha256 = "def456"
    assert extractor_key(other_weights) != base
    assert extractor_key(CountingExtractor(), (28, 28)) != extractor_key(
        CountingExtractor(), (32, 32)
    )


def test_same_key_at_another_working_size_is_computed_again(tmp_path: Path) -> None:
    extractor = CountingExtractor()
    small = np.zeros((1, 4, 4), np.uint8)
    large = np.full((1, 8, 8), 9, np.uint8)
    extract_features(extractor, small, ["file-sha"], tmp_path)
    result = extract_features(extractor, large, ["file-sha"], tmp_path)
    assert extractor.rows_computed == 2 and result[0, 0] == 9.0


def test_cheap_extractors_are_not_cached(images: np.ndarray, tmp_path: Path) -> None:
    pixels = get_extractor("pixels")
    result = extract_features(pixels, images, image_keys(images), tmp_path)
    np.testing.assert_array_equal(result, pixels.transform(images))
    assert not (tmp_path / "features").exists()


def test_a_killed_writer_leaves_nothing_that_is_read(images: np.ndarray, tmp_path: Path) -> None:
    extractor = CountingExtractor()
    keys = image_keys(images)
    extract_features(extractor, images[:4], keys[:4], tmp_path)
    folder = tmp_path / "features" / extractor_key(extractor, images.shape[1:])
    # What a kill can leave: vectors without keys, a half-written temporary, a torn keys file.
    (folder / "dead.vecs.npy").write_bytes(b"\x93NUMPY garbage")
    (folder / ".x1.tmp").write_bytes(b"partial")
    np.save(folder / "torn.vecs.npy", np.ones((3, 2), np.float32))
    (folder / "torn.keys.npy").write_bytes(b"\x93NUMPY")
    extractor.rows_computed = 0
    result = extract_features(extractor, images, keys, tmp_path)
    assert extractor.rows_computed == 8
    np.testing.assert_array_equal(result, extractor.transform(images))


def test_many_small_runs_are_merged_into_few_shards(
    images: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_SHARDS", 3)
    extractor = CountingExtractor()
    keys = image_keys(images)
    for i in range(len(images)):
        extract_features(extractor, images[i : i + 1], keys[i : i + 1], tmp_path)
    folder = tmp_path / "features" / extractor_key(extractor, images.shape[1:])
    assert len(list(folder.glob("*.keys.npy"))) <= 3
    extractor.rows_computed = 0
    result = extract_features(extractor, images, keys, tmp_path)
    assert extractor.rows_computed == 0
    np.testing.assert_array_equal(result, extractor.transform(images))


def test_one_key_per_image_is_required(images: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="one key per image"):
        extract_features(CountingExtractor(), images, ["a"], tmp_path)
    assert extract_features(CountingExtractor(), images[:0], [], tmp_path).shape[0] == 0


@pytest.mark.torch
def test_mobilenet_rows_come_from_the_cache_the_second_time(
    mobilenet: Any, cifar_photos: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = cifar_photos[0][:20]
    keys = image_keys(photos)
    first = extract_features(mobilenet, photos, keys, tmp_path)
    rows: list[int] = []
    original = type(mobilenet).transform

    def counting(self: Any, images: np.ndarray, **kwargs: Any) -> np.ndarray:
        rows.append(len(images))
        return original(self, images, **kwargs)

    monkeypatch.setattr(type(mobilenet), "transform", counting)
    second = extract_features(mobilenet, photos, keys, tmp_path)
    assert rows == []
    np.testing.assert_array_equal(first, second)


def test_discover_embeds_nothing_the_second_time(shapes, tmp_path: Path) -> None:
    from pixclass.cluster import discover
    from pixclass.features import register

    computed: list[int] = []

    class CountingPixels:
        name = "counting-pixels"
        color_mode = None
        image_size = None
        cacheable = True

        def get_params(self) -> dict:
            return {}

        def transform(self, images: np.ndarray) -> np.ndarray:
            computed.append(len(images))
            return images.reshape(len(images), -1).astype(np.float32) / 255

    register("counting-pixels", CountingPixels)
    images, _ = shapes
    first = discover(
        images, features="counting-pixels", n_clusters=4, seed=0, refine=False, cache_dir=tmp_path
    )
    # The first run may embed in batches (for progress); every image is embedded exactly once.
    assert sum(computed) == len(images)
    embedded = len(computed)
    second = discover(
        images, features="counting-pixels", n_clusters=4, seed=0, refine=False, cache_dir=tmp_path
    )
    assert len(computed) == embedded
    assert np.array_equal(first.labels, second.labels)


def test_batches_streamed_through_the_cache_stay_unmerged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A collection embedded batch by batch leaves big shards; only small ones are merged, so
    # a merge never loads a whole big cache.
    monkeypatch.setattr(cache, "MAX_SHARDS", 3)
    monkeypatch.setattr(cache, "MERGE_ROWS", 4)
    many = np.random.default_rng(1).integers(0, 256, size=(24, 6, 6), dtype=np.uint8)
    keys = image_keys(many)
    extractor = CountingExtractor()
    for start in range(0, 16, 4):  # four "batches" of 4 rows: big shards
        extract_features(extractor, many[start : start + 4], keys[start : start + 4], tmp_path)
    folder = tmp_path / "features" / extractor_key(extractor, many.shape[1:])
    big = sorted(p.name for p in folder.glob("*.keys.npy"))
    for i in range(16, 24):  # eight single rows: small shards, merged as they pile up
        extract_features(extractor, many[i : i + 1], keys[i : i + 1], tmp_path)
    shards = sorted(p.name for p in folder.glob("*.keys.npy"))
    assert set(big) <= set(shards) and len(shards) <= len(big) + 3
    extractor.rows_computed = 0
    result = extract_features(extractor, many, keys, tmp_path)
    assert extractor.rows_computed == 0
    np.testing.assert_array_equal(result, extractor.transform(many))


def test_transform_reporting_gives_the_same_rows_and_reports_each_chunk() -> None:
    from pixclass.features.cache import transform_reporting

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 6, 6), dtype=np.uint8)
    extractor = get_extractor("pixels")
    calls: list[tuple[str, int, int]] = []
    rows = transform_reporting(
        extractor, images, lambda *c: calls.append(c), stage="features", chunk=16
    )
    np.testing.assert_array_equal(rows, extractor.transform(images))
    assert calls == [("features", d, 50) for d in (0, 16, 32, 48, 50)]
    # An extractor that reports itself is given the callback, under the stage asked for.
    counting = CountingExtractor()
    seen: list[tuple[str, int, int]] = []
    transform_reporting(counting, images, lambda *c: seen.append(c), stage="features")
    assert {stage for stage, _, _ in seen} <= {"features"}
