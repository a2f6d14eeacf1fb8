"""``Model``: a feature extractor plus a fitted ``ImageClusterer``, saved as one file.

The file holds the extractor's name and parameters (not its weights: a pretrained extractor
re-resolves them on load), the working colour mode and size, and the pickled estimator. Like any
pickle, only load model files you trust.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

import pixclass
from pixclass.cluster.estimator import ImageClusterer
from pixclass.cluster.jit import load_umap
from pixclass.errors import ModelError
from pixclass.features import FeatureExtractor, as_mode, as_size, get_extractor
from pixclass.io.decode import DecodeMode, decode_bytes
from pixclass.io.files import atomic_file

FORMAT = "pixclass-model"
FORMAT_VERSION = 1


@dataclass
class Model:
    """Everything needed to classify new images the way a run classified its images.

    Attributes
    ----------
    features : str
        Extractor name.
    feature_params : dict
        Extractor keyword arguments.
    color_mode : {"L", "RGB"}
        Images are converted to this mode before feature extraction.
    image_size : tuple of (int, int)
        Working (height, width) the images were decoded at.
    clusterer : ImageClusterer
        The fitted estimator.
    class_names : dict of int to str
        Names a person gave to classes (filled in by the store and the app).
    refiner : CnnRefiner or None
        The network the refinement trained; when present it gives the class and confidence, and
        the clusterer's neighbour rule still decides what is unknown.
    deskew : bool
        Images were sheared upright by their moments (``pixclass.features.deskew``) before the
        features and the refinement; ``prepare`` does the same to new images.
    head : object or None
        A classifier of the PCA rows (``predict_proba(rows)``) that learning from a person's
        corrections trained on frozen features (``pixclass.cluster.learned``); when present it
        gives the class and confidence, as the refiner does.
    """

    features: str
    feature_params: dict[str, Any]
    color_mode: str
    image_size: tuple[int, int]
    clusterer: ImageClusterer
    class_names: dict[int, str] = field(default_factory=dict)
    refiner: Any = None
    deskew: bool = False
    head: Any = None
    _extractor: FeatureExtractor | None = field(default=None, repr=False, compare=False)

    @property
    def n_clusters(self) -> int:
        return int(self.clusterer.n_clusters_)

    @property
    def extractor(self) -> FeatureExtractor:
        if self._extractor is None:
            self._extractor = get_extractor(self.features, **self.feature_params)
        return self._extractor

    @property
    def decode_mode(self) -> DecodeMode:
        """The colour mode images are decoded to for this model."""
        return "RGB" if self.color_mode == "RGB" else "L"

    @property
    def decode_size(self) -> tuple[int, int]:
        """The (height, width) images are decoded to for this model."""
        return int(self.image_size[0]), int(self.image_size[1])

    def decode(self, data: bytes) -> np.ndarray:
        """Encoded image bytes as the model's working mode and size (``ImageReadError`` if not)."""
        return decode_bytes(data, mode=self.decode_mode, size=self.decode_size)

    def blank(self, n: int = 1) -> np.ndarray:
        """``n`` black images in the model's working shape (to warm the model up)."""
        channels = (3,) if self.decode_mode == "RGB" else ()
        return np.zeros((n, *self.decode_size, *channels), dtype=np.uint8)

    @property
    def training_rows(self) -> np.ndarray:
        """The PCA rows of the images the model was fitted on, in fitting order."""
        return self.clusterer.predictor_.rows

    def project(self, images: np.ndarray) -> np.ndarray:
        """Decoded images to rows of the model's PCA space (where ``neighbours`` searches)."""
        features = self.extractor.transform(self.prepare(images))
        return np.asarray(self.clusterer.reduction_.to_pca(features), dtype=np.float32)

    def neighbours(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and training-row indices of the ``k`` training images nearest each row,
        nearest first, searched on the index the neighbour vote already holds."""
        return self.clusterer.predictor_.nearest(rows, k)

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """Bring decoded images to the model's colour mode and working size (and deskew them
        when the run did)."""
        images = np.asarray(images)
        if images.ndim == 2:
            images = images[None]
        images = as_size(as_mode(images, self.decode_mode), self.decode_size)
        if self.deskew:
            from pixclass.features.deskew import deskew

            images = deskew(images)
        return images

    def predict(self, images: np.ndarray, *, unknown: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Class (-1 = unknown) and confidence in [0, 1] for each image (uint8 array batch).

        ``unknown=False`` gives every image a class: what assigning the rest of a collection
        that the model was fitted on a sample of wants (the Spark engine).
        """
        prepared = self.prepare(images)
        features = self.extractor.transform(prepared)
        labels, confidence = self.clusterer.predict_with_confidence(features, unknown=unknown)
        if (self.refiner is None and self.head is None) or len(prepared) == 0:
            return labels, confidence
        if self.head is not None:
            proba = self.head.predict_proba(self.clusterer.reduction_.to_pca(features))
        else:
            proba = self.refiner.predict_proba(prepared)
        unlike = labels < 0
        labels = np.where(unlike, -1, proba.argmax(axis=1)).astype(np.int64)
        confidence = np.where(unlike, 0.0, proba.max(axis=1)).astype(np.float32)
        return labels, confidence

    def predict_vectors(
        self, X: np.ndarray, *, unknown: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class (-1 = unknown) and confidence for feature rows of shape (n, d): how a model
        fitted on precomputed vectors (``features == "embeddings"``) classifies new ones."""
        return self.clusterer.predict_with_confidence(np.asarray(X), unknown=unknown)

    def _payload(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "pixclass_version": pixclass.__version__,
            "features": self.features,
            "feature_params": self.feature_params,
            "color_mode": self.color_mode,
            "image_size": tuple(self.image_size),
            "class_names": dict(self.class_names),
            "clusterer": self.clusterer,
            "refiner": self.refiner,
            "deskew": self.deskew,
            "head": self.head,
        }

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self._payload(), buffer, compress=3)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "model") -> Model:
        load_umap()  # before unpickling imports it without the compile cache
        try:
            payload = joblib.load(io.BytesIO(data))
        except Exception as exc:  # a corrupt pickle can raise almost anything
            raise ModelError(
                f"{source} is not a readable pixclass model ({exc.__class__.__name__}); "
                "save it again with `pixclass cluster ... --model-out PATH`"
            ) from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ModelError(f"{source} is not a pixclass model file")
        if payload.get("format_version", 0) > FORMAT_VERSION:
            raise ModelError(
                f"{source} was saved by a newer pixclass ({payload.get('pixclass_version')}); "
                "upgrade pixclass to load it"
            )
        return cls(
            features=payload["features"],
            feature_params=payload["feature_params"],
            color_mode=payload["color_mode"],
            image_size=(int(payload["image_size"][0]), int(payload["image_size"][1])),
            clusterer=payload["clusterer"],
            class_names=payload.get("class_names", {}),
            refiner=payload.get("refiner"),
            deskew=bool(payload.get("deskew", False)),
            head=payload.get("head"),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model to ``path`` atomically (a crash never leaves half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as handle:
            handle.write(self.to_bytes())
        return path


def load_model(path: str | os.PathLike[str]) -> Model:
    """Load a model saved with ``Model.save``; raises ``ModelError`` with advice if it cannot."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(
            f"no model file at {path}; create one with `pixclass cluster SOURCE --model-out {path}`"
        ) from exc
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from exc
    return Model.from_bytes(data, source=str(path))
