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

from pixclass.cluster.jit import load_umap

# Above this many rows UMAP gets LARGE_EPOCHS passes unless told otherwise (its own default is
# 200): on MNIST 70k, 100 passes cluster as well (ACC 0.9806 both) in 27 s less.
LARGE = 10000
LARGE_EPOCHS = 100

# Up to this many rows the neighbour graph UMAP builds on is searched exactly with faiss and
# handed to it: on MNIST 70k that takes 7.5 s, while UMAP's own approximate search
# (pynndescent) spends 35 s there, most of it compiling numba code in every new process.
# Above it exact search grows as n^2 and pynndescent is the faster.
EXACT_KNN_MAX = 200_000
# Above this many rows (and up to EXACT_KNN_MAX) the graph is searched through faiss's
# inverted-file index (``pixclass.cluster.index``: a query looks in 16 of sqrt(n) groups) rather
# than exactly: at MNIST's 70,000 rows that is a tenth of the distance computations, and what it
# misses is a neighbour near a group's border, where UMAP's own search is approximate too.
APPROX_KNN_ABOVE = 50_000

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

    def residual(self, X: np.ndarray) -> np.ndarray:
        """Length of the part of each scaled row that PCA does not keep (0 without PCA)."""
        Xs = _scale(X, self.scale, self.scaler)
        if self.pca is None:
            return np.zeros(len(Xs), np.float32)
        kept = self.pca.inverse_transform(self.pca.transform(Xs))
        return np.linalg.norm(np.asarray(Xs, np.float64) - kept, axis=1).astype(np.float32)


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
    n_epochs: int | None = None,
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
        umap = load_umap()

        if n_epochs is None and n_samples > LARGE:
            n_epochs = LARGE_EPOCHS
        n_neighbors = min(n_neighbors, n_samples - 1)
        knn = None
        if n_samples <= EXACT_KNN_MAX:
            knn = (*neighbour_graph(reduced, n_neighbors, random_state), None)
        umap_model = umap.UMAP(
            n_components=umap_components,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            precomputed_knn=knn or (None, None, None),
            n_epochs=n_epochs,
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


def embed_again(reduction: Reduction, reduced: np.ndarray, random_state: int | None) -> np.ndarray:
    """Another UMAP layout of the same PCA rows, from a different random start.

    The neighbour graph is the first layout's (it does not depend on the seed), so a further run
    costs only UMAP's optimisation: what a consensus of runs needs.
    """
    umap = load_umap()

    first = reduction.umap
    if first is None:
        return reduced
    params = first.get_params()
    params.update(
        precomputed_knn=(first._knn_indices, first._knn_dists, None),
        random_state=random_state,
        n_jobs=1 if random_state is not None else params["n_jobs"],
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        return umap.UMAP(**params).fit_transform(reduced).astype(np.float32)


def neighbour_graph(
    rows: np.ndarray, k: int, random_state: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest rows, itself first: exactly up to ``APPROX_KNN_ABOVE`` rows,
    through the inverted-file index above (any row it finds too few for is searched exactly)."""
    if len(rows) <= APPROX_KNN_ABOVE:
        return exact_neighbours(rows, k)
    from pixclass.cluster.index import exact_index, ivf_index, search_in_blocks

    rows = np.ascontiguousarray(rows, dtype=np.float32)
    distances, indices = search_in_blocks(ivf_index(rows, random_state=random_state), rows, k)
    short = np.flatnonzero((indices < 0).any(axis=1))
    if len(short):
        distances[short], indices[short] = search_in_blocks(exact_index(rows), rows[short], k)
    return _itself_first(indices, distances, k)


def exact_neighbours(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances of each row's ``k`` nearest rows, itself first (faiss)."""
    from pixclass.cluster.index import exact_index, search_in_blocks

    rows = np.ascontiguousarray(rows, dtype=np.float32)
    distances, indices = search_in_blocks(exact_index(rows), rows, k)
    return _itself_first(indices, distances, k)


def _itself_first(
    indices: np.ndarray, distances: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    # Among identical images faiss may list a twin before the row itself; UMAP wants each row
    # first, at distance 0.
    for r in np.flatnonzero(indices[:, 0] != np.arange(len(indices))):
        others = indices[r] != r
        indices[r] = np.concatenate([[r], indices[r][others][: k - 1]])
        distances[r] = np.concatenate([[0.0], distances[r][others][: k - 1]])
    return indices, distances
