"""MobileNetV2 embeddings on real photos, through both backends."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixclass.errors import InputError, MissingExtraError

pytestmark = pytest.mark.torch
pytest.importorskip("torch")
pytest.importorskip("torchvision")

from pixclass.features import get_extractor, onnx_runtime  # noqa: E402
from pixclass.features.mobilenet import MobileNetV2Features  # noqa: E402


def test_embeds_real_photos_into_1280_float32(mobilenet: Any, cifar_photos: Any) -> None:
    images, _ = cifar_photos
    features = mobilenet.transform(images[:40])
    assert features.shape == (40, 1280) and features.dtype == np.float32
    assert np.isfinite(features).all() and features.min() >= 0.0  # pooled ReLU6 activations
    assert mobilenet.backend_ == "onnx"
    assert mobilenet.name == "mobilenet_v2" and mobilenet.cacheable


def test_neighbours_in_embedding_space_share_a_class(mobilenet: Any, cifar_photos: Any) -> None:
    images, labels = cifar_photos
    features = mobilenet.transform(images)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -1)
    accuracy = (labels[similarity.argmax(axis=1)] == labels).mean()
    # Ten balanced classes: chance is 0.1. Wrong channel order or scaling drops this a lot.
    assert accuracy > 0.45


def test_onnx_matches_torch_on_real_photos(mobilenet: Any, cifar_photos: Any) -> None:
    images, _ = cifar_photos
    eager = MobileNetV2Features(weights=mobilenet.weights_.path, backend="torch").load()
    assert eager.backend_ == "torch" and eager.weights_.origin == "explicit"
    difference = np.abs(mobilenet.transform(images[:64]) - eager.transform(images[:64]))
    assert difference.max() < 1e-4


def test_export_is_cached_by_weights_hash(
    mobilenet: Any, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch, cifar_photos: Any
) -> None:
    images, _ = cifar_photos
    (cached,) = onnx_cache.glob("*.onnx")
    assert cached.name == f"mobilenet_v2-{mobilenet.weights_sha256[:16]}-opset17.onnx"

    def no_export(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("exported again although the export is cached")

    monkeypatch.setattr(onnx_runtime, "export_onnx", no_export)
    again = MobileNetV2Features(onnx_cache_dir=onnx_cache).load()
    assert again.backend_ == "onnx"
    np.testing.assert_array_equal(again.transform(images[:8]), mobilenet.transform(images[:8]))


def test_a_corrupt_cached_export_is_replaced(mobilenet: Any, tmp_path: Path) -> None:
    bad = onnx_runtime.onnx_cache_path(tmp_path, "mobilenet_v2", mobilenet.weights_sha256)
    bad.write_bytes(b"truncated")
    extractor = MobileNetV2Features(backend="onnx", onnx_cache_dir=tmp_path).load()
    assert extractor.backend_ == "onnx" and bad.stat().st_size > 1_000_000


def test_grayscale_and_other_sizes(mobilenet: Any, cifar_photos: Any) -> None:
    images, _ = cifar_photos
    gray = images[:3].mean(axis=-1).astype(np.uint8)
    assert mobilenet.transform(gray).shape == (3, 1280)
    big = np.repeat(np.repeat(images[:3], 6, axis=1), 6, axis=2)  # 192 px, shrunk to 160
    assert np.isfinite(mobilenet.transform(big)).all()
    assert mobilenet.transform(images[:0]).shape == (0, 1280)


def test_flip_average_is_the_mean_of_image_and_mirror(mobilenet: Any, cifar_photos: Any) -> None:
    images, _ = cifar_photos
    assert mobilenet.flip_average  # the default
    single = MobileNetV2Features(flip_average=False, onnx_cache_dir=mobilenet.onnx_cache_dir)
    mirrored = np.ascontiguousarray(images[:8, :, ::-1])
    expected = (single.transform(images[:8]) + single.transform(mirrored)) / 2
    np.testing.assert_allclose(mobilenet.transform(images[:8]), expected, atol=1e-5)
    np.testing.assert_allclose(mobilenet.transform(mirrored), expected, atol=1e-5)


def test_progress_reports_every_batch(mobilenet: Any, cifar_photos: Any) -> None:
    images, _ = cifar_photos
    calls: list[tuple[str, int, int]] = []
    extractor = MobileNetV2Features(batch_size=16, onnx_cache_dir=mobilenet.onnx_cache_dir)
    extractor.transform(images[:40], progress=lambda *call: calls.append(call))
    assert calls == [("embed", 0, 40), ("embed", 16, 40), ("embed", 32, 40), ("embed", 40, 40)]


def test_params_round_trip_through_the_registry() -> None:
    extractor = get_extractor("mobilenet_v2", image_size=[96, 96], backend="torch")
    rebuilt = get_extractor("mobilenet_v2", **extractor.get_params())
    assert rebuilt.get_params() == extractor.get_params()
    assert extractor.image_size == (96, 96) and extractor.color_mode == "RGB"


def test_bad_options_and_inputs_are_input_errors(mobilenet: Any, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="backend must be one of"):
        MobileNetV2Features(backend="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="uint8"):
        mobilenet.transform(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(InputError, match="shape"):
        mobilenet.transform(np.zeros((2, 32, 32, 4), np.uint8))
    not_weights = tmp_path / "mobilenet_v2-b0353104.pth"
    not_weights.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read the MobileNetV2 weights"):
        MobileNetV2Features(weights=not_weights).load()


def test_auto_falls_back_to_torch_without_onnxruntime(
    mobilenet: Any, monkeypatch: pytest.MonkeyPatch, cifar_photos: Any
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    extractor = MobileNetV2Features(onnx_cache_dir=mobilenet.onnx_cache_dir).load()
    assert extractor.backend_ == "torch"
    assert extractor.transform(cifar_photos[0][:2]).shape == (2, 1280)
    with pytest.raises(MissingExtraError, match="onnxruntime"):
        MobileNetV2Features(backend="onnx").load()
