"""The contract every feature extractor keeps.

Extractors take decoded images as one uint8 array and return one float32 row per image. They never
touch disk or network (weights are resolved before construction), so the pipeline can treat a
pretrained network and raw pixels the same way.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

ColorMode = Literal["L", "RGB"]


@runtime_checkable
class FeatureExtractor(Protocol):
    """Turns images into feature vectors.

    Attributes
    ----------
    name : str
        Registry name (``"pixels"``, ``"hog"``, ``"mobilenet_v2"``, ...).
    color_mode : {"L", "RGB"} or None
        The colour mode the extractor wants its input in; None accepts whatever the run uses.
    image_size : tuple of (int, int) or None
        (height, width) the extractor wants; None accepts the run's working size.
    """

    name: str
    color_mode: ColorMode | None
    image_size: tuple[int, int] | None

    def get_params(self) -> dict[str, Any]:
        """Constructor keyword arguments, so the extractor can be rebuilt in another process."""
        ...

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Map images of shape (n, h, w) or (n, h, w, 3), uint8, to features (n, d), float32."""
        ...


def as_mode(images: np.ndarray, mode: ColorMode | None) -> np.ndarray:
    """Convert a uint8 image batch to the wanted colour mode (luma weights as Pillow's ``L``)."""
    if mode is None:
        return images
    if mode == "L" and images.ndim == 4:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.clip(images.astype(np.float32) @ weights + 0.5, 0, 255).astype(np.uint8)
    if mode == "RGB" and images.ndim == 3:
        return np.repeat(images[..., None], 3, axis=-1)
    return images


def as_size(images: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize a uint8 batch to (height, width) with Pillow's bilinear filter; no-op if equal."""
    if size is None or images.shape[1:3] == tuple(size):
        return images
    from PIL import Image

    height, width = size
    out = np.empty((len(images), height, width, *images.shape[3:]), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(
            Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR)
        )
    return out
