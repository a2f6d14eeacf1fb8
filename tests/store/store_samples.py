"""Real images for the store tests: MNIST digits written as PNG files, plus broken files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pixclass.io import read_idx

MNIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def mnist_arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` official MNIST test images and their labels."""
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")[:n]
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")[:n]
    return images, labels


def png_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def write_mnist_pngs(folder: Path, n: int, *, labels_csv: bool = False) -> dict[str, bytes]:
    """Write ``n`` MNIST digits as ``folder/00000.png``...; returns name -> bytes.

    With ``labels_csv`` the files go to ``folder/images`` with a ``folder/labels.csv``.
    """
    images, labels = mnist_arrays(n)
    target = folder / "images" if labels_csv else folder
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, array in enumerate(images):
        name = f"{i:05d}.png"
        data = png_bytes(array)
        (target / name).write_bytes(data)
        written[name] = data
    if labels_csv:
        rows = "".join(f"{i:05d}.png,{int(label)}\n" for i, label in enumerate(labels))
        (folder / "labels.csv").write_text("file,label\n" + rows)
    return written


def write_bad_files(folder: Path) -> dict[str, str]:
    """Files with an image extension that cannot be used; name -> words the reason contains."""
    folder.mkdir(parents=True, exist_ok=True)
    good = png_bytes(mnist_arrays(1)[0][0])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_bytes(b"this is not an image at all\n")
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    return {"empty.png": "empty", "text.png": "not an image", "truncated.png": "truncated"}


def photo_bytes(width: int = 320, height: int = 200, fmt: str = "JPEG") -> bytes:
    """A colour image larger than a thumbnail."""
    y, x = np.mgrid[0:height, 0:width]
    array = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt)
    return out.getvalue()
