"""``features="auto"``: pixels for digits, the network for photos, chosen without labels."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixclass.cluster import discover
from pixclass.features.choose import choose_features, spectral_cut
from pixclass.io import read_idx


@pytest.fixture(scope="module")
def mnist_digits(mnist_dir: Path) -> np.ndarray:
    """600 real MNIST test digits, (600, 28, 28) uint8."""
    images: np.ndarray = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:600]
    return images


@pytest.fixture
def network(mobilenet: Any) -> None:
    """Skip unless the network can run here (torch, torchvision and local weights)."""


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if torch were not installed: ``import torch`` fails and ``find_spec`` finds nothing."""
    for name in ("torch", "torchvision"):
        monkeypatch.setitem(sys.modules, name, None)


def test_spectral_cut_is_low_for_separated_groups() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=10.0, size=(20, 30))
    groups = (centres[:, None, :] + rng.normal(size=(20, 20, 30))).reshape(-1, 30)
    blob = rng.normal(size=(400, 30))
    assert spectral_cut(groups) < 0.05 < 0.2 < spectral_cut(blob)
    # Only the shape of the neighbour graph counts, not the units.
    assert spectral_cut(groups * 1000.0) == pytest.approx(spectral_cut(groups), rel=1e-6)


@pytest.mark.torch
def test_picks_pixels_for_mnist_digits(network: None, mnist_digits: np.ndarray) -> None:
    name, reason = choose_features(mnist_digits, random_state=0)
    assert name == "pixels", reason
    assert "mobilenet_v2" in reason  # the network was measured, not skipped


@pytest.mark.torch
def test_picks_the_network_for_cifar_photos(network: None, cifar_photos: Any) -> None:
    images, _ = cifar_photos
    name, reason = choose_features(images, random_state=0)
    assert name == "mobilenet_v2", reason
    assert "pixels" in reason


def test_falls_back_to_pixels_without_torch(no_torch: None, mnist_digits: np.ndarray) -> None:
    photos = np.repeat(mnist_digits[:200, :, :, None], 3, axis=-1)
    name, reason = choose_features(photos, random_state=0)
    assert (name, reason) == ("pixels", "torch is not installed (pip install 'pixclass[torch]')")


def test_too_few_images_keep_pixels(mnist_digits: np.ndarray) -> None:
    assert choose_features(mnist_digits[:50])[0] == "pixels"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_discover_records_the_choice_and_why(no_torch: None, mnist_digits: np.ndarray) -> None:
    result = discover(mnist_digits[:80], n_clusters=3, seed=0)  # features="auto" by default
    assert result.params["features"] == "pixels"
    assert "torch is not installed" in result.params["features_reason"]
    assert result.model.features == "pixels"


@pytest.mark.torch
def test_the_network_brings_its_clusterer_settings(network: None, cifar_photos: Any) -> None:
    images, _ = cifar_photos
    chosen = discover(images[:60], features="mobilenet_v2", n_clusters=3, seed=0)
    assert chosen.params["scale"] == "l2" and chosen.params["features_reason"] is None
    given = discover(images[:60], features="mobilenet_v2", n_clusters=3, seed=0, scale="none")
    assert given.params["scale"] == "none"


@pytest.mark.torch
def test_grey_images_on_the_network_are_embedded_small_and_refined(
    network: None, mnist_digits: np.ndarray, cifar_photos: Any
) -> None:
    grey = discover(mnist_digits[:150], features="mobilenet_v2", n_clusters=3, seed=0)
    assert grey.params["feature_params"]["image_size"] == [64, 64]
    assert grey.params["feature_params"]["flip_average"] is False
    assert grey.params["refine"] is True and grey.model.refiner is not None
    assert grey.model.predict(mnist_digits[:150])[0].tolist() == grey.labels.tolist()
    photos, _ = cifar_photos
    colour = discover(photos[:60], features="mobilenet_v2", n_clusters=3, seed=0)
    assert colour.params["feature_params"]["image_size"] == [160, 160]
    assert colour.params["feature_params"]["flip_average"] is True
    assert colour.params["refine"] is False
