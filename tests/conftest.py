"""Fixtures shared by every test package: where the real data lives, synthetic shape images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

# pytest-xdist's workers set COLUMNS=80; the CLI's output is then folded as on a narrow terminal.
# The tests read it as a pipe would (whole lines and table cells), with or without xdist.
os.environ.pop("COLUMNS", None)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST_DIR = SHARED_DATA / "mnist"
CIFAR_DIR = SHARED_DATA / "cifar10-train-10k"


def shape_image(kind: str, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """One 8-bit grayscale picture of a shape, jittered in place, size and stroke.

    Drawn at 4x and downsampled, so position and size vary smoothly rather than in whole pixels
    (whole-pixel jitter makes tiny clumps that are no class at all).
    """
    scale = 4
    big = size * scale
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    c = big / 2 + rng.uniform(-1.5, 1.5, size=2) * scale
    r = big * rng.uniform(0.25, 0.35)
    width = int(round(rng.uniform(1.5, 3.0) * scale))
    if kind == "circle":
        draw.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], outline=255, width=width)
    elif kind == "square":
        draw.rectangle([c[0] - r, c[1] - r, c[0] + r, c[1] + r], outline=255, width=width)
    elif kind == "cross":
        draw.line([c[0] - r, c[1], c[0] + r, c[1]], fill=255, width=width)
        draw.line([c[0], c[1] - r, c[0], c[1] + r], fill=255, width=width)
    elif kind == "triangle":
        points = [(c[0], c[1] - r), (c[0] - r, c[1] + r), (c[0] + r, c[1] + r)]
        draw.polygon(points, outline=255, width=width)
    else:
        raise ValueError(kind)
    small = image.resize((size, size), Image.Resampling.LANCZOS)
    noise = rng.normal(0, 6, size=(size, size))
    return np.clip(np.asarray(small, dtype=np.float64) + noise, 0, 255).astype(np.uint8)


SHAPES = ("circle", "square", "cross", "triangle")


def make_shapes(n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images of the four shapes with their true groups (for evaluation only)."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, kind in enumerate(SHAPES):
        for _ in range(n_per_class):
            images.append(shape_image(kind, rng))
            labels.append(label)
    order = rng.permutation(len(images))
    return np.stack(images)[order], np.asarray(labels)[order]


@pytest.fixture(scope="session")
def shapes() -> tuple[np.ndarray, np.ndarray]:
    return make_shapes(150)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST_DIR} (see ../shared/data/README.md)")
    return MNIST_DIR
