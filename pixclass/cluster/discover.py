"""``discover``: images in, classes out. The one call the CLI, the store and the app make.

The stages, each of which can be chosen or switched off:

1. **Features.** ``features="auto"`` picks pixels or mobilenet_v2 by how cleanly each separates a
   sample of the images (``pixclass.features.choose``). Grayscale images go to mobilenet_v2 at
   ``GRAY_NETWORK_SIZE`` (64 px) and without the mirror average unless ``image_size`` or
   ``flip_average`` is given in ``feature_params``.
2. **Deskew.** ``deskew="auto"`` shears grayscale images upright by their moments before the
   features and the refinement (``pixclass.features.deskew``) when they are clustered on pixel
   features and their median slant says they lean (handwriting: MNIST yes; clothing, 8x8
   digits no); never for a pretrained network's features. The model does the same to new images.
3. **The first clustering**: ``ImageClusterer`` (PCA, UMAP, the number of classes, a mixture).
4. **Refinement.** ``refine="auto"`` self-trains a small CNN on the surest assignments and
   relabels every image (``pixclass.cluster.refine``) for runs on pixel features and for grayscale
   images whatever their features, when torch is installed; it skips with a warning when torch is
   not; ``refine=True`` insists (an error names the extra to install).
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixclass.cluster.estimator import ImageClusterer
from pixclass.cluster.jit import load_umap
from pixclass.cluster.model import Model
from pixclass.cluster.reduce import APPROX_KNN_ABOVE, neighbour_graph
from pixclass.cluster.sample import SAMPLE_ABOVE, SAMPLE_SIZE, SampleFit, fit_on_sample
from pixclass.errors import InputError
from pixclass.features import get_extractor
from pixclass.features.cache import (
    extract_features,
    image_keys,
    is_cacheable,
    transform_reporting,
)
from pixclass.features.choose import AUTO, choose_features
from pixclass.io.imageset import ImageSet
from pixclass.jsonable import jsonable
from pixclass.progress import ProgressCallback, report


@dataclass
class Discovery:
    """The result of ``discover``.

    Attributes
    ----------
    labels : ndarray of shape (n_images,)
        Class of each image.
    confidence : ndarray of shape (n_images,)
        Confidence of each label, in [0, 1].
    n_clusters : int
    model : Model
        Classifies new images the same way.
    params : dict
        Everything that shaped the result (JSON-able): estimator and extractor parameters.
    timings : dict of str to float
        Seconds per stage.
    representatives : dict of int to list of int
        For each class, row indices of its most confident images, best first.
    embedding_2d : ndarray of shape (n_images, 2) or None
        Coordinates for a map of the images (when asked for).
    first_labels : ndarray of shape (n_images,) or None
        The first clustering's labels, before refinement.
    refinement : dict or None
        The refinement's rounds (training size, share of labels changed, seconds) and why it
        stopped; None when the run was not refined.
    """

    labels: np.ndarray
    confidence: np.ndarray
    n_clusters: int
    model: Model
    params: dict[str, Any]
    timings: dict[str, float]
    representatives: dict[int, list[int]] = field(default_factory=dict)
    embedding_2d: np.ndarray | None = None
    first_labels: np.ndarray | None = None
    refinement: dict[str, Any] | None = None

    def sizes(self) -> dict[int, int]:
        ids, counts = np.unique(self.labels, return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts, strict=True)}


def representatives(labels: np.ndarray, confidence: np.ndarray, n: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for c in np.unique(labels[labels >= 0]):
        rows = np.flatnonzero(labels == c)
        best = rows[np.argsort(-confidence[rows], kind="stable")[:n]]
        out[int(c)] = [int(i) for i in best]
    return out


def _map_2d(
    estimator: ImageClusterer,
    random_state: int | None,
    tell: ProgressCallback,
    timings: dict[str, float],
) -> np.ndarray:
    """2-D coordinates for the map, from the clustering embedding (cheap: few dims, few epochs)."""
    umap = load_umap()

    embedding = estimator.embedding_
    clock = time.perf_counter()
    tell("map", 0, 1)
    if len(embedding) < 10:
        coords = np.zeros((len(embedding), 2), np.float32)
    else:
        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=min(15, len(embedding) - 1),
            min_dist=0.1,
            n_epochs=100,
            random_state=random_state,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            coords = reducer.fit_transform(embedding).astype(np.float32)
    tell("map", 1, 1)
    timings["map"] = time.perf_counter() - clock
    # After a fit on a sample each image goes where its nearest sampled image is.
    nearest = getattr(estimator, "nearest_sample_", None)
    return coords if nearest is None else coords[nearest]


def discover(
    images: ImageSet | np.ndarray,
    *,
    features: str = "auto",
    feature_params: dict[str, Any] | None = None,
    n_clusters: int | str = "auto",
    seed: int | None = None,
    map_2d: bool = False,
    refine: bool | str = "auto",
    deskew: bool | str = "auto",
    n_representatives: int = 16,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    sample: bool | int | str = "auto",
    embeddings: np.ndarray | None = None,
    **params: Any,
) -> Discovery:
    """Discover the classes in ``images`` without labels (the stages: see the module docstring).

    Parameters
    ----------
    images : ImageSet or ndarray of shape (n, h, w) or (n, h, w, 3), uint8
        Decoded images (see ``pixclass.io.load_source``).
    features : str, default="auto"
        Extractor name (``pixclass.features.available_extractors()``); "auto" picks pixels or
        mobilenet_v2 (``pixclass.features.choose``), and ``params`` says which and why.
    feature_params : dict or None
        Keyword arguments for the extractor.
    n_clusters : int or "auto", default="auto"
    seed : int or None, default=None
        None is faster (UMAP uses every core) but not bit-for-bit repeatable.
    map_2d : bool, default=False
        Also compute 2-D map coordinates (adds about a third to the run time).
    refine : bool or "auto", default="auto"
        Self-train a small CNN on the surest assignments and relabel every image; "auto" does
        it where it helps and torch is installed, True insists, False keeps the first clustering.
    deskew : bool or "auto", default="auto"
        Shear images upright by their moments; "auto" does it for leaning handwriting.
    n_representatives : int, default=16
        Most confident images kept per class.
    cache_dir : path or None, default=None
        Keep pretrained-network embeddings here, keyed by image content, so a second run on the
        same images embeds nothing (the CLI, jobs and app pass ``Settings.cache_dir``).
    sample : bool, int or "auto", default="auto"
        Fit on a random sample and classify the rest with the fitted model, in batches
        (``pixclass.cluster.sample``): "auto" above 50,000 images, an int is the sample's size.
    embeddings : ndarray of shape (n_images, d) or None, default=None
        Precomputed vectors, one row per image (``pixclass.io.embeddings``): no features are
        extracted, ``features`` is ignored, nothing is deskewed or refined (``refine=True`` is
        an error), and the model classifies vectors (``Model.predict_vectors``), not images.
    **params
        Further ``ImageClusterer`` parameters (``method``, ``pca_components``, ...).
    """
    tell = report(progress)
    start = time.perf_counter()
    array = _image_array(images)
    if embeddings is not None:
        prepared = _given_vectors(array, embeddings, refine)
    else:
        prepared = _prepare(array, features, feature_params, deskew, seed, tell)
    # An extractor may say which clusterer settings suit its features; given ones win.
    params = {**getattr(prepared.extractor, "clusterer_params", {}), **params}
    estimator = ImageClusterer(n_clusters=n_clusters, random_state=seed, **params)
    timings = {"features": time.perf_counter() - start}
    sampled = _cluster(prepared, estimator, cache_dir, sample, tell, timings)
    refined = _refined(prepared, estimator, refine, seed, tell, timings)
    coords = _map_2d(estimator, seed, tell, timings) if map_2d else None
    timings["total"] = time.perf_counter() - start
    return _discovery(prepared, estimator, refined, timings, coords, n_representatives, sampled)


def _cluster(
    prepared: _Prepared,
    estimator: ImageClusterer,
    cache_dir: str | os.PathLike[str] | None,
    sample: bool | int | str,
    tell: ProgressCallback,
    timings: dict[str, float],
) -> SampleFit | None:
    """The first clustering: on every feature row, or on a sample and then applied to all."""
    clock = time.perf_counter()
    size = _sample_size(sample, len(prepared.array))
    vectors = prepared.vectors
    if size is None:
        if vectors is not None:
            X = vectors
        else:
            X = _extract(prepared.extractor, prepared.array, cache_dir, tell)
        timings["features"] += time.perf_counter() - clock
        estimator.fit(X, progress=tell)
        timings.update(estimator.timings_)
        return None

    def rows_of(indices: np.ndarray) -> np.ndarray:
        if vectors is not None:
            return vectors[indices]
        return _extract(prepared.extractor, prepared.array[indices], cache_dir, tell)

    sampled = fit_on_sample(
        estimator, rows_of, len(prepared.array), sample_size=size, progress=tell
    )
    timings.update(estimator.timings_)
    return sampled


def _sample_size(sample: bool | int | str, n_images: int) -> int | None:
    """How many images to fit on, or None to fit on all of them."""
    if isinstance(sample, bool) or sample == "auto":
        wanted = sample is True or (sample == "auto" and n_images > SAMPLE_ABOVE)
        return SAMPLE_SIZE if wanted and n_images > SAMPLE_SIZE else None
    if isinstance(sample, int) and sample >= 2:
        return sample if n_images > sample else None
    raise InputError(
        f"sample must be True, False, 'auto' or a number of images >= 2, got {sample!r}"
    )


def _refined(
    prepared: _Prepared,
    estimator: ImageClusterer,
    refine: bool | str,
    seed: int | None,
    tell: ProgressCallback,
    timings: dict[str, float],
) -> Any:
    """The refinement of the first clustering where that applies, else None."""
    if prepared.vectors is not None:  # given vectors: the refinement's CNN would replace them
        return None
    if not _should_refine(refine, prepared.features, estimator.n_clusters_, prepared.array):
        return None
    clock = time.perf_counter()
    refined = _refine(prepared.array, estimator, seed, tell)
    timings["refine"] = time.perf_counter() - clock
    return refined


@dataclass
class _Prepared:
    """The images as the features see them, and the choices that made them so."""

    features: str
    features_reason: str | None
    extractor: Any
    array: np.ndarray
    deskew: bool
    vectors: np.ndarray | None = None


def _image_array(images: ImageSet | np.ndarray) -> np.ndarray:
    array = images.images if isinstance(images, ImageSet) else np.asarray(images)
    if array.ndim not in (3, 4) or array.dtype != np.uint8:
        raise InputError(
            "images must be a uint8 array of shape (n, h, w) or (n, h, w, 3); "
            "load files with pixclass.io.load_source"
        )
    if len(array) < 2:
        raise InputError(f"need at least 2 images to find classes, got {len(array)}")
    return array


def _prepare(
    array: np.ndarray,
    features: str,
    feature_params: dict[str, Any] | None,
    deskew: bool | str,
    seed: int | None,
    tell: ProgressCallback,
) -> _Prepared:
    """Choose the features (when "auto"), build the extractor, deskew when that pays."""
    reason = None
    if features == AUTO:
        features, reason = choose_features(array, random_state=seed)
    extractor = get_extractor(features, **_network_defaults(features, array, feature_params))
    straightened = _should_deskew(deskew, features, array, seed)
    if straightened:
        from pixclass.features.deskew import deskew as deskew_images

        tell("deskew", 0, 1)
        array = deskew_images(array)
        tell("deskew", 1, 1)
    return _Prepared(features, reason, extractor, array, straightened)


def _given_vectors(array: np.ndarray, embeddings: np.ndarray, refine: bool | str) -> _Prepared:
    """A run on precomputed vectors: checked against the images, with a stand-in extractor."""
    from pixclass.features.precomputed import NAME, PrecomputedVectors

    vectors = np.asarray(embeddings)
    if vectors.ndim != 2 or len(vectors) != len(array):
        raise InputError(
            f"embeddings must have one row per image, shape ({len(array)}, d), not {vectors.shape}"
        )
    if not np.issubdtype(vectors.dtype, np.number) or not np.isfinite(vectors).all():
        raise InputError("embeddings must be finite numbers (no NaN or infinity)")
    if refine is True:
        raise InputError(
            "refine=True needs features computed from the images; with precomputed embeddings "
            "the run is not refined"
        )
    extractor = PrecomputedVectors(dim=vectors.shape[1])
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return _Prepared(NAME, "precomputed vectors", extractor, array, False, vectors)


def _extract(
    extractor: Any,
    array: np.ndarray,
    cache_dir: str | os.PathLike[str] | None,
    tell: ProgressCallback,
) -> np.ndarray:
    # The extractor's own stage ("embed") is this run's "features" stage, so a job's progress
    # moves through it rather than sitting at its start.
    def features(_: str, done: int, total: int) -> None:
        tell("features", done, total)

    features("features", 0, 1)
    if cache_dir is not None and is_cacheable(extractor):
        X = extract_features(extractor, array, image_keys(array), cache_dir, progress=features)
    else:
        X = transform_reporting(extractor, array, features, stage="features")
    features("features", 1, 1)
    return X


def _refine(
    array: np.ndarray, estimator: ImageClusterer, seed: int | None, tell: ProgressCallback
) -> Any:
    from pixclass.cluster.refine import refine_labels

    return refine_labels(
        array,
        estimator.labels_,
        estimator.confidence_,
        neighbours=_neighbours(estimator),
        sure=BIG_SET_SURE if len(array) > SAMPLE_ABOVE else None,
        random_state=seed,
        progress=tell,
    )


# Above ``SAMPLE_ABOVE`` images the refinement's relabelling of every image is a third of its
# time, and most images need only their own view (``refine_labels``' ``sure``): on MNIST 70k
# (fitted on a sample) 0.9845 with it as without, the relabelling in about half the time.
BIG_SET_SURE = 0.95


def _discovery(
    prepared: _Prepared,
    estimator: ImageClusterer,
    refined: Any,
    timings: dict[str, float],
    coords: np.ndarray | None,
    n_representatives: int,
    sampled: SampleFit | None = None,
) -> Discovery:
    labels, confidence = estimator.labels_, estimator.confidence_
    refinement = None
    if refined is not None:
        labels, confidence = refined.labels, refined.confidence
        refinement = {"rounds": refined.rounds, "stopped": refined.stopped}
    extractor = prepared.extractor
    model = Model(
        features=prepared.features,
        feature_params=extractor.get_params(),
        color_mode="RGB" if prepared.array.ndim == 4 else "L",
        image_size=(int(prepared.array.shape[1]), int(prepared.array.shape[2])),
        clusterer=estimator,
        refiner=None if refined is None else refined.refiner,
        deskew=prepared.deskew,
    )
    return Discovery(
        labels=labels,
        confidence=confidence,
        n_clusters=int(len(np.unique(labels[labels >= 0]))),
        model=model,
        params={
            "features": prepared.features,
            "features_reason": prepared.features_reason,
            "feature_params": jsonable(extractor.get_params()),
            **jsonable(estimator.get_params()),
            "refine": refinement is not None,
            "deskew": prepared.deskew,
            "sample": None if sampled is None else sampled.describe(),
            "consensus": {
                "runs": len(estimator.runs_),
                "unanimous": float(np.mean(estimator.agreement_ == 1)),
            },
        },
        timings=timings,
        representatives=representatives(labels, confidence, n_representatives),
        first_labels=estimator.labels_,
        refinement=jsonable(refinement),
        embedding_2d=coords,
    )


# Features a CNN on the pixels can improve on; a pretrained network's embedding already knows more
# about photos than a small network trained from scratch on them would learn.
PIXEL_FEATURES = ("pixels", "hog")


def _neighbours(estimator: ImageClusterer, k: int = 30) -> np.ndarray:
    """Each image's nearest neighbours: UMAP's own graph when it kept one, else a faiss search."""
    umap_model = estimator.reduction_.umap
    found = getattr(umap_model, "_knn_indices", None)
    if found is not None and len(found) == len(estimator.labels_):
        return np.asarray(found)
    rows = estimator.predictor_.rows
    if len(rows) > APPROX_KNN_ABOVE:
        # After a fit on a sample UMAP's graph covers the sample only. The graph over every row
        # is searched as UMAP's would have been (inverted-file index): an exact search of 70,000
        # MNIST rows against themselves took 20 s of the refinement on 2 busy cores.
        return neighbour_graph(rows, k + 1, estimator.random_state)[0][:, 1:]
    return estimator.predictor_.training_neighbours(k)


def _should_deskew(deskew: bool | str, features: str, array: np.ndarray, seed: int | None) -> bool:
    if isinstance(deskew, bool):
        return deskew
    if deskew != "auto":
        raise InputError(f"deskew must be True, False or 'auto', got {deskew!r}")
    if array.ndim != 3 or features not in PIXEL_FEATURES:
        return False
    from pixclass.features.deskew import leans

    return leans(array, random_state=seed)


# Grayscale images given to the pretrained network are embedded at this size, and without the
# mirror-image average, unless told otherwise: an upscaled 28-px grey image has no more to show
# at 160 px (the default for photos). Fashion-MNIST, k=10, first clustering: ACC 0.754 at 64 px
# and at 96 px (68 s against 104 s to embed). The mirror average doubles that time; what it does
# to accuracy there was not told apart from the mixture's run-to-run spread (0.62-0.75).
GRAY_NETWORK_SIZE = (64, 64)


def _network_defaults(
    features: str, array: np.ndarray, given: dict[str, Any] | None
) -> dict[str, Any]:
    params = dict(given or {})
    if features == "mobilenet_v2" and array.ndim == 3:
        params.setdefault("image_size", GRAY_NETWORK_SIZE)
        params.setdefault("flip_average", False)
    return params


def _should_refine(refine: bool | str, features: str, n_clusters: int, array: np.ndarray) -> bool:
    from pixclass.cluster.refine import torch_available

    if refine is False or n_clusters < 2:
        return False
    if refine is True:
        if not torch_available():
            from pixclass.errors import MissingExtraError

            raise MissingExtraError("torch", "torch", "Refinement (refine=True)")
        return True
    if refine != "auto":
        raise InputError(f"refine must be True, False or 'auto', got {refine!r}")
    # A small CNN trained from scratch learns the shapes of grey images well (Fashion-MNIST on
    # MobileNetV2 features: 0.754 -> 0.773), but knows less about colour photos than the
    # pretrained embedding they were clustered on.
    if features not in PIXEL_FEATURES and array.ndim != 3:
        return False
    if not torch_available():
        warnings.warn(
            "refinement skipped: it needs torch; install it with pip install 'pixclass[torch]'",
            stacklevel=3,
        )
        return False
    return True
