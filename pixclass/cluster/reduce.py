"""Scaling -> PCA -> UMAP: the reduction every clustering method works on.

PCA first because UMAP's neighbour search is faster and less noisy on 50 components than on
784 pixels; UMAP second because classes that overlap in any linear projection become compact,
separated groups on its neighbour graph (the N2D and "UMAP for clustering" recipe).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler, normalize

# Below this many samples UMAP's spectral layout and neighbour graph are unreliable, so the
# clustering runs on the PCA components directly.
MIN_SAMPLES_FOR_UMAP = 100


@dataclass
class Reduction:
    """The fitted reduction steps; ``transform`` applies them to new rows (PCA only)."""

    scale: str
    scaler: StandardScaler | None
    pca: PCA | None
    umap: Any | None

    def to_pca(self, X: np.ndarray) -> np.ndarray:
        """Scaled and PCA-projected rows (the space the predictor's neighbour search uses)."""
        X = _scale(X, self.scale, self.scaler)
        if self.pca is None:
            return X.astype(np.float32)
        return self.pca.transform(X).astype(np.float32)


def _scale(X: np.ndarray, scale: str, scaler: StandardScaler | None) -> np.ndarray:
    if scale == "l2":
        return normalize(X)
    if scale == "standard" and scaler is not None:
        return scaler.transform(X)
    return X


def fit_reduction(
    X: np.ndarray,
    *,
    scale: str,
    pca_components: int | None,
    umap_components: int | None,
    n_neighbors: int,
    min_dist: float,
    random_state: int | None,
    n_jobs: int,
) -> tuple[Reduction, np.ndarray, np.ndarray]:
    """Fit the reduction on ``X``; returns (reduction, PCA rows, embedding to cluster on)."""
    scaler = StandardScaler().fit(X) if scale == "standard" else None
    Xs = _scale(X, scale, scaler)
    n_samples, n_features = Xs.shape
    pca = None
    reduced = Xs.astype(np.float32)
    if pca_components and n_features > pca_components and n_samples > pca_components:
        pca = PCA(n_components=pca_components, random_state=random_state, svd_solver="auto")
        reduced = pca.fit_transform(Xs).astype(np.float32)

    umap_model = None
    embedding = reduced
    if umap_components and n_samples >= MIN_SAMPLES_FOR_UMAP:
        import umap

        umap_model = umap.UMAP(
            n_components=umap_components,
            n_neighbors=min(n_neighbors, n_samples - 1),
            min_dist=min_dist,
            random_state=random_state,
            # UMAP turns parallelism off when given a seed; without one it uses every core.
            n_jobs=1 if random_state is not None else n_jobs,
            low_memory=True,
        )
        with warnings.catch_warnings():
            # "n_jobs overridden to 1 by setting random_state" and numba's TBB notes say nothing
            # a user can act on.
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            embedding = umap_model.fit_transform(reduced).astype(np.float32)
    return Reduction(scale=scale, scaler=scaler, pca=pca, umap=umap_model), reduced, embedding
