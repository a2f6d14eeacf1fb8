"""Raw pixels, scaled to [0, 1]: the right features for digits and other centred, aligned images."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixclass.features.base import ColorMode, as_mode, as_size


class PixelFeatures:
    """Flattened pixel intensities in [0, 1].

    Parameters
    ----------
    color_mode : {"L", "RGB"} or None, default=None
        None keeps the run's colour mode.
    image_size : tuple of (int, int) or None, default=None
        Resize to (height, width) first; None keeps the run's working size. 28-32 px is plenty for
        digit-like images; larger sizes cost memory without helping the clustering.
    """

    name = "pixels"

    def __init__(
        self, *, color_mode: ColorMode | None = None, image_size: tuple[int, int] | None = None
    ) -> None:
        self.color_mode = color_mode
        self.image_size: tuple[int, int] | None = (
            (int(image_size[0]), int(image_size[1])) if image_size else None
        )

    def get_params(self) -> dict[str, Any]:
        return {"color_mode": self.color_mode, "image_size": self.image_size}

    def transform(self, images: np.ndarray) -> np.ndarray:
        images = as_size(as_mode(np.asarray(images), self.color_mode), self.image_size)
        flat = images.reshape(len(images), -1).astype(np.float32)
        flat *= np.float32(1.0 / 255.0)
        return flat
