"""``--features onnx:PATH``: a small ONNX model the tests export themselves, on real images."""

from __future__ import annotations

import csv
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pixclass.errors import InputError
from pixclass.features import get_extractor
from pixclass.services.options import check_cluster_options, check_features

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def tiny_net(channels: int, *, nhwc: bool = False) -> Any:
    """A seeded conv net: conv 3x3 -> ReLU -> 2x2 average pool -> flatten."""
    torch.manual_seed(0)
    layers: list[Any] = []
    if nhwc:
        layers.append(Permute())
    layers += [
        torch.nn.Conv2d(channels, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
    ]
    return torch.nn.Sequential(*layers).eval()


class Permute(torch.nn.Module):  # type: ignore[misc]
    def forward(self, x: Any) -> Any:
        return x.permute(0, 3, 1, 2)


def export(net: Any, example_shape: tuple[int, ...], path: Path, dynamic: dict[int, str]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.zeros(*example_shape),),
            path,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": dynamic, "y": {0: "n"}} if dynamic else None,
            opset_version=17,
            dynamo=False,
        )
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("onnx-models")
    return {
        # RGB, NCHW, 32x32 fixed, dynamic batch
        "rgb": export(tiny_net(3), (2, 3, 32, 32), root / "rgb.onnx", {0: "n"}),
        # RGB, NCHW, any size
        "anysize": export(tiny_net(3), (2, 3, 32, 32), root / "any.onnx", {0: "n", 2: "h", 3: "w"}),
        # grayscale, NHWC, 28x28, batch fixed at 1
        "gray_nhwc": export(tiny_net(1, nhwc=True), (1, 28, 28, 1), root / "gray.onnx", {}),
        # grayscale NCHW 28x28 for the clustering run
        "gray": export(tiny_net(1), (2, 1, 28, 28), root / "digits.onnx", {0: "n"}),
    }


def expected(net: Any, images: np.ndarray, mean: Any = MEAN, std: Any = STD) -> np.ndarray:
    x = (images.astype(np.float32) / 255.0 - mean) / std
    with torch.no_grad():
        return net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()


def test_convention_is_read_from_the_input_shape(models, cifar_photos) -> None:
    images = cifar_photos[0][:40]
    extractor = get_extractor(f"onnx:{models['rgb']}")
    assert extractor.image_size == (32, 32)
    assert extractor.color_mode == "RGB"
    assert extractor.layout_ == "nchw"
    rows = extractor.transform(images)
    assert rows.shape == (40, 4 * 16 * 16) and rows.dtype == np.float32
    np.testing.assert_allclose(rows, expected(tiny_net(3), images), atol=1e-4)


def test_nhwc_grayscale_fixed_batch(models, mnist_dir) -> None:
    from pixclass.io import read_idx

    digits = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:7]
    extractor = get_extractor(f"onnx:{models['gray_nhwc']}")
    assert (extractor.layout_, extractor.color_mode, extractor.image_size) == (
        "nhwc",
        "L",
        (28, 28),
    )
    rows = extractor.transform(digits)  # 7 images through a batch-of-1 model
    mean, std = MEAN[:1], STD[:1]  # one channel takes the first of each
    x = (digits.astype(np.float32)[..., None] / 255.0 - mean) / std
    with torch.no_grad():
        want = tiny_net(1, nhwc=True)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(rows, want, atol=1e-4)


def test_spec_options_override_the_convention(models, cifar_photos) -> None:
    images = cifar_photos[0][:8]
    extractor = get_extractor(f"onnx:{models['anysize']}?size=16x16&mean=0&std=1")
    assert extractor.image_size == (16, 16)
    rows = extractor.transform(images)
    from pixclass.features import as_size

    small = as_size(images, (16, 16))
    np.testing.assert_allclose(rows, expected(tiny_net(3), small, 0.0, 1.0), atol=1e-4)
    # a dynamic size with no size given is the documented 224 x 224
    assert get_extractor(f"onnx:{models['anysize']}").image_size == (224, 224)


def test_options_validator_makes_the_path_absolute(models, monkeypatch) -> None:
    monkeypatch.chdir(models["rgb"].parent)
    checked = check_cluster_options({"features": "onnx:rgb.onnx?mean=0.5&std=0.5"})
    assert checked["features"] == f"onnx:{models['rgb']}?mean=0.5&std=0.5"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("onnx:", "give the model file"),
        ("onnx:/no/such/model.onnx", "no ONNX model file"),
        ("onnx:{rgb}?colour=rgb", "unknown onnx option 'colour'"),
        ("onnx:{rgb}?size=big", "HEIGHTxWIDTH"),
        ("onnx:{rgb}?std=0", "above 0"),
        ("onnx:{rgb}?mean=1,2", "1 or 3 numbers"),
    ],
)
def test_bad_specs_say_what_is_wrong(models, spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_features(spec.format(rgb=models["rgb"]))


def test_files_that_are_no_image_model_are_refused(tmp_path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot load"):
        get_extractor(f"onnx:{junk}")
    flat = export(torch.nn.Linear(10, 3).eval(), (2, 10), tmp_path / "flat.onnx", {0: "n"})
    with pytest.raises(InputError, match="4 axes"):
        get_extractor(f"onnx:{flat}")
    five = export(tiny_net(5), (2, 5, 16, 16), tmp_path / "five.onnx", {0: "n"})
    with pytest.raises(InputError, match="5 channels"):
        get_extractor(f"onnx:{five}")


def zeros_and_ones(mnist_dir: Path, folder: Path) -> dict[str, str]:
    """The 0s and 1s among the first 200 MNIST test digits as PNG files; name -> label."""
    from PIL import Image

    from pixclass.io import read_idx

    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:200]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:200]
    folder.mkdir()
    truth = {}
    for i in np.flatnonzero(labels <= 1):
        name = f"{i:05d}.png"
        Image.fromarray(images[i]).save(folder / name)
        truth[name] = str(labels[i])
    return truth


def test_cli_clusters_real_digits_with_an_onnx_model(models, mnist_dir, tmp_path) -> None:
    # Under 100 images the clustering runs on PCA without UMAP: seconds, not minutes.
    truth = zeros_and_ones(mnist_dir, tmp_path / "digits")
    assert 40 <= len(truth) < 100
    python = [sys.executable, "-m", "pixclass"]
    out, model = tmp_path / "a.csv", tmp_path / "m.model"
    spec = f"onnx:{models['gray']}?mean=0&std=1"
    done = subprocess.run(
        [*python, "cluster", str(tmp_path / "digits"), "--features", spec, "--k", "2"]
        + ["--seed", "0", "--no-refine", "-q", "-o", str(out), "--model-out", str(model)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "features: onnx" not in done.stderr  # given, not chosen: no reason printed
    with out.open() as handle:
        fitted = {r["path"]: r["cluster"] for r in csv.DictReader(handle)}
    assert set(fitted) == set(truth)
    from pixclass.evaluate import evaluate_labels

    names = sorted(truth)
    scores = evaluate_labels(
        np.array([int(truth[n]) for n in names]), np.array([int(fitted[n]) for n in names])
    )
    assert scores["acc"] > 0.9  # 0s and 1s; chance is 0.5
    # the saved model rebuilds the extractor from its spec and classifies the files again
    files = [str(tmp_path / "digits" / n) for n in names[:5]]
    predicted = subprocess.run(
        [*python, "predict", str(model), *files, "-o", str(tmp_path / "p.csv")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr
    with (tmp_path / "p.csv").open() as handle:
        again = {Path(r["path"]).name: r["cluster"] for r in csv.DictReader(handle)}
    assert [again[n] for n in names[:5]] == [fitted[n] for n in names[:5]]
