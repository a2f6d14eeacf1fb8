"""Stand-in extractor for runs on precomputed vectors (``discover(..., embeddings=X)``).

The run's vectors came from outside (``pixclass cluster SOURCE --embeddings FILE``), so its model
knows no way to turn a new image into one: ``transform`` says so instead of guessing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from pixclass.errors import ModelError
from pixclass.features.base import ColorMode

NAME = "embeddings"


class PrecomputedVectors:
    """The features of a run fitted on vectors it was given.

    Parameters
    ----------
    dim : int
        Length of each vector.
    source : str or None, default=None
        Where the vectors came from (a file name), for messages.
    """

    name = NAME
    color_mode: ColorMode | None = None
    image_size: tuple[int, int] | None = None
    cacheable = False
    # Vectors from a network (CLIP, DINOv2, a model of one's own) carry their meaning in their
    # direction, as the built-in networks' do.
    clusterer_params: ClassVar[dict[str, Any]] = {"scale": "l2"}

    def __init__(self, *, dim: int, source: str | None = None) -> None:
        self.dim = int(dim)
        self.source = source

    def get_params(self) -> dict[str, Any]:
        return {"dim": self.dim, "source": self.source}

    def transform(self, images: np.ndarray) -> np.ndarray:
        raise ModelError(
            f"this model was fitted on precomputed vectors ({self.source or 'given'}); it cannot "
            "embed images. Classify vectors with model.predict_vectors(X), or cluster again with "
            "--features NAME to get a model that reads images"
        )
