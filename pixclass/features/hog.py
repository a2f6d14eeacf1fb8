"""Histograms of oriented gradients (scikit-image): shape features that tolerate small shifts."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixclass.features.base import as_mode, as_size


class HogFeatures:
    """HOG descriptors of the grayscale image.

    Parameters
    ----------
    image_size : tuple of (int, int) or None, default=(32, 32)
        Images are resized to this first so every image gives the same descriptor length.
    orientations : int, default=9
    pixels_per_cell : int, default=4
        4 suits 28-32 px images; use 8-16 for larger photos.
    cells_per_block : int, default=2
    """

    name = "hog"
    color_mode = "L"

    def __init__(
        self,
        *,
        image_size: tuple[int, int] | None = (32, 32),
        orientations: int = 9,
        pixels_per_cell: int = 4,
        cells_per_block: int = 2,
    ) -> None:
        self.image_size: tuple[int, int] | None = (
            (int(image_size[0]), int(image_size[1])) if image_size else None
        )
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block

    def get_params(self) -> dict[str, Any]:
        return {
            "image_size": self.image_size,
            "orientations": self.orientations,
            "pixels_per_cell": self.pixels_per_cell,
            "cells_per_block": self.cells_per_block,
        }

    def transform(self, images: np.ndarray) -> np.ndarray:
        from skimage.feature import hog

        images = as_size(as_mode(np.asarray(images), "L"), self.image_size)
        rows = [
            hog(
                image,
                orientations=self.orientations,
                pixels_per_cell=(self.pixels_per_cell, self.pixels_per_cell),
                cells_per_block=(self.cells_per_block, self.cells_per_block),
                feature_vector=True,
            )
            for image in images
        ]
        return np.asarray(rows, dtype=np.float32).reshape(len(images), -1)
