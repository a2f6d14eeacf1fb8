"""Pixels, HOG, the registry, and life without the torch extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pixclass.errors import InputError, MissingExtraError
from pixclass.features import FeatureExtractor, available_extractors, get_extractor
from pixclass.features.hog import HogFeatures
from pixclass.features.pixels import PixelFeatures


@pytest.fixture
def gray() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)


def test_pixels_flatten_and_scale_to_unit_range(gray: np.ndarray) -> None:
    features = PixelFeatures().transform(gray)
    assert features.shape == (5, 28 * 28)
    assert features.dtype == np.float32
    assert features.min() >= 0.0 and features.max() <= 1.0
    np.testing.assert_allclose(features[0], gray[0].ravel() / 255.0, rtol=1e-6)


def test_pixels_convert_mode_and_size(rgb: np.ndarray) -> None:
    extractor = PixelFeatures(color_mode="L", image_size=(16, 16))
    assert extractor.transform(rgb).shape == (4, 16 * 16)
    assert PixelFeatures(color_mode="RGB").transform(rgb[..., 0]).shape == (4, 32 * 32 * 3)
    assert PixelFeatures().transform(rgb).shape == (4, 32 * 32 * 3)


def test_pixels_black_and_white_images_hit_the_ends_of_the_range() -> None:
    images = np.stack([np.zeros((8, 8), np.uint8), np.full((8, 8), 255, np.uint8)])
    features = PixelFeatures().transform(images)
    assert features[0].max() == 0.0 and features[1].min() == 1.0


def test_hog_gives_fixed_length_nonnegative_descriptors(gray: np.ndarray, rgb: np.ndarray) -> None:
    extractor = HogFeatures()
    small, large = extractor.transform(gray), extractor.transform(rgb)
    # 32 px, 4 px cells, 2x2 blocks: 7x7 blocks of 2*2*9 values, whatever the input size.
    assert small.shape == (5, 7 * 7 * 2 * 2 * 9) and large.shape == (4, small.shape[1])
    assert small.dtype == np.float32 and small.min() >= 0.0
    assert np.isfinite(large).all()


def test_hog_tells_horizontal_from_vertical_edges() -> None:
    stripes = np.zeros((32, 32), np.uint8)
    stripes[::4] = 255
    features = HogFeatures().transform(np.stack([stripes, stripes.T, stripes]))
    assert np.allclose(features[0], features[2])
    assert not np.allclose(features[0], features[1], atol=1e-3)


def test_registry_builds_extractors_with_their_parameters() -> None:
    extractor = get_extractor("pixels", image_size=(8, 8))
    assert isinstance(extractor, FeatureExtractor)
    assert extractor.get_params() == {"color_mode": None, "image_size": (8, 8)}
    assert isinstance(get_extractor("hog", pixels_per_cell=8), HogFeatures)
    assert {"pixels", "hog", "mobilenet_v2"} <= set(available_extractors())


def test_unknown_extractor_name_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"unknown feature extractor 'resnet9'.*hog.*pixels"):
        get_extractor("resnet9")


def test_mobilenet_without_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'pixclass\[torch\]'") as info:
        get_extractor("mobilenet_v2")
    assert info.value.extra == "torch" and info.value.package == "torch"


def test_pixclass_and_pixels_work_in_a_process_where_torch_cannot_be_imported() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = sys.modules["torchvision"] = None  # import torch now fails
        import numpy as np
        import pixclass
        from pixclass.errors import MissingExtraError
        from pixclass.features import get_extractor
        print(get_extractor("pixels").transform(np.zeros((2, 4, 4), np.uint8)).shape)
        try:
            get_extractor("mobilenet_v2")
        except MissingExtraError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "(2, 16)" in result.stdout
    assert "pip install 'pixclass[torch]'" in result.stdout
