"""Nearest-neighbour search and k-means that stay fast at millions of rows (faiss).

Exact search compares every query with every row: 70,000 MNIST rows answer 100,000 queries in a
few seconds, but a million rows, or a million queries against a sample, make it minutes. Above
``EXACT_PAIRS`` distance computations (or ``EXACT_ROWS`` rows whatever the queries) the search
goes through an inverted-file index (``IndexIVFFlat``): the rows are grouped around
``sqrt(n)`` k-means centres and a query looks only in the ``NPROBE`` nearest groups. What that
misses is a neighbour near a group's border; for a vote of 15 neighbours that hardly ever changes
the winner (see ``benchmarks/scale.py``). Below those sizes the search stays exact, so results on
sets of MNIST's size do not change.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Above this many rows an index is always approximate: an exact search of each row's own
# neighbours would grow as n^2.
EXACT_ROWS = 200_000
# A search that would make more distance computations than this (rows x queries) goes
# approximate, given at least IVF_MIN_ROWS rows to group: 1e10 is about 20 s on 2 cores.
EXACT_PAIRS = 1e10
IVF_MIN_ROWS = 10_000
# Groups a query looks in. 16 of sqrt(n) groups finds nearly every true neighbour on
# well-clustered embeddings and keeps a query at a few thousand distance computations.
NPROBE = 16
# faiss searches in blocks so that a 70k x 70k distance matrix is never held in memory.
BLOCK = 4096


def _faiss() -> Any:
    import faiss

    return faiss


def wants_ivf(n_rows: int, n_queries: int) -> bool:
    """Whether a search of ``n_queries`` among ``n_rows`` should use the approximate index."""
    if n_rows > EXACT_ROWS:
        return True
    return n_rows >= IVF_MIN_ROWS and float(n_rows) * float(n_queries) > EXACT_PAIRS


def exact_index(rows: np.ndarray) -> Any:
    faiss = _faiss()
    index = faiss.IndexFlatL2(rows.shape[1])
    index.add(np.ascontiguousarray(rows, dtype=np.float32))
    return index


def ivf_index(rows: np.ndarray, *, random_state: int | None = None) -> Any:
    """An ``IndexIVFFlat`` over ``rows`` with about ``sqrt(n)`` groups, trained on a sample."""
    faiss = _faiss()
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    n, d = rows.shape
    nlist = max(1, min(int(math.sqrt(n)), n // 39))
    quantizer = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_L2)
    # faiss's k-means wants 39 points per centre and gains little past 64; a sample keeps the
    # training to seconds at a million rows.
    rng = np.random.default_rng(random_state)
    take = min(n, 64 * nlist)
    train = rows if take == n else rows[np.sort(rng.choice(n, take, replace=False))]
    index.cp.niter = 10
    if random_state is not None:
        index.cp.seed = int(random_state)
    index.train(train)
    for start in range(0, n, 100_000):
        index.add(rows[start : start + 100_000])
    index.nprobe = min(NPROBE, nlist)
    return index


def search_in_blocks(index: Any, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and indices of the ``k`` nearest rows of a faiss L2 ``index``.

    An approximate index may find fewer than ``k``; the missing places hold index -1 and an
    infinite distance.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    dists, idx = [], []
    for start in range(0, len(X), BLOCK):
        d, i = index.search(X[start : start + BLOCK], k)
        dists.append(d)
        idx.append(i)
    if not dists:
        return np.empty((0, k), np.float32), np.empty((0, k), np.int64)
    distances, indices = np.vstack(dists), np.vstack(idx)
    distances = np.where(indices < 0, np.inf, np.sqrt(np.maximum(distances, 0)))
    return distances.astype(np.float32), indices


def kmeans(
    X: np.ndarray, n_clusters: int, *, n_init: int = 1, niter: int = 20, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Centres and labels of ``X`` by faiss's k-means (Lloyd's, on all cores it is given).

    scikit-learn's ``KMeans`` holds an (n, k) distance matrix and checks its input thoroughly;
    faiss streams, which is what a million rows of 512 dimensions need.
    """
    faiss = _faiss()
    X = np.ascontiguousarray(X, dtype=np.float32)
    km = faiss.Kmeans(
        X.shape[1],
        int(n_clusters),
        niter=niter,
        nredo=n_init,
        seed=1234 if seed is None else int(seed),
        # faiss samples 256 points per centre by default; say so rather than be warned.
        max_points_per_centroid=max(256, -(-len(X) // max(1, int(n_clusters)))),
    )
    km.train(X)
    _, labels = search_in_blocks(km.index, X, 1)
    return km.centroids, labels[:, 0].astype(np.int64)
