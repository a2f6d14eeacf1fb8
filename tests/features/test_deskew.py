"""Slant normalisation: leaning strokes come out upright and centred; nothing else changes."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pixclass.features.deskew import deskew, leans, slants


def _stroke(lean: float, size: int = 28, offset: int = 0, ink: int = 255, paper: int = 0):
    """A thick line from bottom to top, leaning ``lean`` pixels right per pixel up."""
    image = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(image)
    top, bottom = 4, size - 5
    middle = size // 2 + offset
    half = (bottom - top) / 2
    draw.line([(middle - lean * half, bottom), (middle + lean * half, top)], fill=ink, width=3)
    return np.asarray(image)


def _centre(image: np.ndarray) -> tuple[float, float]:
    ink = image.astype(float)
    ys, xs = np.mgrid[: image.shape[0], : image.shape[1]]
    return float((ink * ys).sum() / ink.sum()), float((ink * xs).sum() / ink.sum())


@pytest.mark.parametrize("lean", [-0.5, -0.25, 0.25, 0.5])
def test_a_leaning_stroke_comes_out_upright(lean: float) -> None:
    images = np.stack([_stroke(lean), _stroke(0.0)])
    # Image y grows downwards, so a stroke leaning right going up has a negative slant.
    assert slants(images)[0] == pytest.approx(-lean, abs=0.08)
    upright = deskew(images)
    assert upright.dtype == np.uint8 and upright.shape == images.shape
    assert abs(slants(upright)[0]) < 0.05
    # The upright stroke is now close to the stroke that was drawn upright.
    assert np.abs(upright[0].astype(int) - upright[1].astype(int)).mean() < 12


def test_ink_is_moved_to_the_centre() -> None:
    image = _stroke(0.0, offset=6)[None]
    cy, cx = _centre(deskew(image)[0])
    assert cx == pytest.approx(13.5, abs=0.6)
    assert cy == pytest.approx(13.5, abs=0.6)


def test_dark_ink_on_white_paper_is_measured_too() -> None:
    dark = _stroke(0.4, ink=0, paper=255)[None]
    assert slants(dark)[0] == pytest.approx(-0.4, abs=0.08)
    upright = deskew(dark)
    assert abs(slants(upright)[0]) < 0.05
    # The paper stays white: nothing dark is invented at the borders.
    assert upright[0, 0].min() == 255 and upright[0, -1].min() == 255


def test_blank_and_colour_images() -> None:
    blank = np.zeros((2, 16, 16), np.uint8)
    assert np.array_equal(deskew(blank), blank)
    rgb = np.repeat(_stroke(0.5)[None, ..., None], 3, axis=3)
    upright = deskew(rgb)
    assert upright.shape == rgb.shape
    assert np.array_equal(upright[..., 0], upright[..., 2])
    assert np.array_equal(upright[0, ..., 0], deskew(_stroke(0.5)[None])[0])
    assert deskew(np.zeros((0, 8, 8), np.uint8)).shape == (0, 8, 8)


def test_leans_tells_handwriting_from_upright_objects() -> None:
    rng = np.random.default_rng(0)
    leaning = np.stack([_stroke(float(v)) for v in rng.uniform(-0.6, 0.6, 60)])
    upright = np.stack([_stroke(float(v)) for v in rng.uniform(-0.05, 0.05, 60)])
    assert leans(leaning)
    assert not leans(upright)
    assert not leans(np.zeros((0, 8, 8), np.uint8))
