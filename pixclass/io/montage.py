"""A grid of thumbnails as one PNG: how a class is shown in the demo, e-mails and the app."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from pixclass.errors import InputError


def montage_png(
    images: Sequence[np.ndarray],
    columns: int = 8,
    cell: int = 64,
    background: int = 255,
) -> bytes:
    """A grid of thumbnails as PNG bytes.

    Parameters
    ----------
    images : sequence of ndarray of shape (h, w), (h, w, 1), (h, w, 3) or (h, w, 4)
        uint8 images, or floats in [0, 1]; other dtypes are scaled from their own min to max.
    columns : int, default=8
        Thumbnails per row. To show one class per row, pass the number of images per class.
    cell : int, default=64
        Side of each square cell in pixels; each image is scaled to fit it, keeping its aspect.
        Values between 48 and 128 read well in e-mail and on phones.
    background : int, default=255
        Grey level around thumbnails that do not fill their cell.

    Returns
    -------
    bytes
        An RGB PNG of width ``min(columns, n) * cell`` and height ``ceil(n / columns) * cell``.
    """
    if len(images) == 0:
        raise InputError("a montage needs at least one image")
    if columns < 1 or cell < 4:
        raise InputError(f"montage columns must be >= 1 and cell >= 4, got {columns} and {cell}")

    n_cols = min(columns, len(images))
    n_rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (n_cols * cell, n_rows * cell), (background,) * 3)
    for index, array in enumerate(images):
        thumb = _to_pil(np.asarray(array))
        thumb.thumbnail((cell - 2, cell - 2), Image.Resampling.LANCZOS)
        if thumb.width < cell - 2 and thumb.height < cell - 2:
            # Tiny images (MNIST is 28x28) are scaled up so the montage is readable.
            scale = (cell - 2) / max(thumb.width, thumb.height)
            size = (max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale)))
            thumb = thumb.resize(size, Image.Resampling.NEAREST)
        row, col = divmod(index, columns)
        x = col * cell + (cell - thumb.width) // 2
        y = row * cell + (cell - thumb.height) // 2
        sheet.paste(thumb, (x, y))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _to_pil(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(
            f"montage images must have shape (h, w), (h, w, 3) or (h, w, 4), got {array.shape}"
        )
    if array.dtype != np.uint8:
        values = array.astype(np.float64)
        if np.issubdtype(array.dtype, np.floating) and values.min() >= 0 and values.max() <= 1:
            values = values * 255
        else:
            low, high = float(values.min()), float(values.max())
            values = (values - low) * (255 / (high - low)) if high > low else values * 0
        array = np.clip(values + 0.5, 0, 255).astype(np.uint8)
    image = Image.fromarray(array)
    return image.convert("RGB")
