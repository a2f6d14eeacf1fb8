"""Real images for the web tests: MNIST digits as PNG files (the shared offline copy)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pixclass.config import Settings
from pixclass.io import read_idx

MNIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
TOKEN = "test-token-5f1c0a9e7d"
# Digits in the clustered collection every test starts from (see conftest.py).
N_DIGITS = 200


def mnist_arrays(n: int) -> np.ndarray:
    """The first ``n`` official MNIST test images."""
    images: np.ndarray = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")[:n]
    return images


def png_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def write_digits(folder: Path, n: int, start: int = 0) -> list[Path]:
    """MNIST test images ``start`` .. ``start + n`` as ``folder/digit-00000.png`` ..."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, array in enumerate(mnist_arrays(start + n)[start:], start=start):
        path = folder / f"digit-{i:05d}.png"
        path.write_bytes(png_bytes(array))
        paths.append(path)
    return paths


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (in its ``csrf-token`` meta tag)."""
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    # Notification receivers in these tests listen on loopback, which only this setting allows.
    base = Settings(
        data_dir=data_dir, app_token=TOKEN, queue_url="immediate", notify_allow_private=True
    )
    return replace(base, **overrides)
