"""Real image files for the io tests, written with Pillow: good ones in every format, bad ones."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
ORIENTATION = 0x0112


def gradient_rgb(height: int = 20, width: int = 30) -> np.ndarray:
    """A colour image whose pixels differ enough that a decode mix-up shows."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 8, y * 12, (x + y) * 4], axis=-1).clip(0, 255).astype(np.uint8)


def encode(array: np.ndarray, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def write_good_images(folder: Path) -> dict[str, str]:
    """One 20x30 image per format; returns name -> Pillow format."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = gradient_rgb()
    formats = {
        "a.png": "PNG",
        "b.jpg": "JPEG",
        "c.gif": "GIF",
        "d.bmp": "BMP",
        "e.tif": "TIFF",
        "f.webp": "WEBP",
        "g.JPEG": "JPEG",  # upper-case extension
    }
    for name, fmt in formats.items():
        (folder / name).write_bytes(encode(rgb, fmt))
    return formats


def write_bad_images(folder: Path) -> dict[str, str]:
    """Files that must be skipped; returns name -> a word the reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    png = encode(gradient_rgb(), "PNG")
    jpeg = encode(gradient_rgb(), "JPEG")
    (folder / "empty.png").write_bytes(b"")
    (folder / "cut.png").write_bytes(png[: len(png) // 2])
    (folder / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "text.png").write_text("this is not an image\n")
    return {
        "empty.png": "empty file",
        "cut.png": "truncated",
        "cut.jpg": "truncated",
        "text.png": "not an image",
    }


def oriented_jpeg(orientation: int = 6) -> bytes:
    """A 30-wide, 10-high JPEG, dark on the left and light on the right, with an EXIF
    orientation tag: 6 means "rotate 90 degrees clockwise to show", giving 10 wide, 30 high."""
    array = np.zeros((10, 30), dtype=np.uint8)
    array[:, 15:] = 255
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def palette_alpha_png() -> bytes:
    """A palette PNG: left half opaque red, right half fully transparent (index 1)."""
    image = Image.new("P", (20, 10), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0, 0, 0] * 254)
    image.paste(1, (10, 0, 20, 10))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=1)
    return buffer.getvalue()


def animated_gif() -> bytes:
    """Two frames: black, then white. The first frame is the image."""
    frames = [Image.new("L", (8, 8), 0), Image.new("L", (8, 8), 255)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def sixteen_bit_png(values: np.ndarray) -> bytes:
    return encode(values.astype(np.uint16), "PNG")


def bomb_png(side: int = 10_000) -> bytes:
    """A 1-bit PNG of side x side pixels: 100 million pixels in about 12 kB."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 0).save(buffer, format="PNG")
    return buffer.getvalue()
