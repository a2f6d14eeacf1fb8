"""MNIST digits written as PNG files, and a collection clustered once for the job tests."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from pixclass.config import Settings
from pixclass.io import read_idx

BASE_URL = "http://pix.test:8000"
MNIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def mnist_arrays(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Official MNIST test images ``start`` to ``start + n`` and their labels."""
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")[start : start + n]
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")[start : start + n]
    return images, labels


def png_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def write_digits(folder: Path, start: int, n: int, *, labeled: bool = False) -> list[Path]:
    """Write digits ``start``.. as ``folder/digit-NNNNN.png`` (with ``labels.csv`` if labeled:
    then the files go to ``folder/images``). Returns the paths."""
    images, labels = mnist_arrays(start, n)
    target = folder / "images" if labeled else folder
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, array in enumerate(images):
        path = target / f"digit-{start + i:05d}.png"
        path.write_bytes(png_bytes(array))
        paths.append(path)
    if labeled:
        rows = "".join(f"{p.name},{int(label)}\n" for p, label in zip(paths, labels, strict=True))
        (folder / "labels.csv").write_text("file,label\n" + rows)
    return paths


def copy_database(template: Settings, target: Settings) -> None:
    """Give ``target`` (an empty data dir) a copy of the template's SQLite database."""
    target.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.data_dir / "pixclass.db", target.data_dir / "pixclass.db")
