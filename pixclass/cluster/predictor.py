"""Assigning new images to learned classes: a neighbour vote with an "unknown" rule.

UMAP can embed new points, but slowly and not always where the training points went; a vote of
the nearest training images in PCA space is fast (one faiss search), reproduces the fitted labels
on the training images, and gives a natural notion of "unlike everything seen".

The documented rule
-------------------
* class: the class with the largest confidence-weighted vote among the ``n_neighbors`` nearest
  training images;
* confidence: the winning class's votes divided by ``n_neighbors``, each vote weighted by that
  neighbour's own confidence, so it lies in [0, 1] and is high only where neighbours agree and were
  themselves sure;
* unknown (-1, confidence 0): the nearest training image is farther away than the
  ``unknown_quantile`` quantile (default 0.999) of the nearest-neighbour distances among the
  training images themselves -- the image is further from everything seen than almost any training
  image is from its closest neighbour.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

# faiss searches in blocks so that a 70k x 70k distance matrix is never held in memory.
_BLOCK = 4096


def _faiss() -> Any:
    import faiss

    return faiss


def search_in_blocks(index: Any, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances and indices of the ``k`` nearest rows of a faiss L2 ``index``."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    dists, idx = [], []
    for start in range(0, len(X), _BLOCK):
        d, i = index.search(X[start : start + _BLOCK], k)
        dists.append(d)
        idx.append(i)
    if not dists:
        return np.empty((0, k), np.float32), np.empty((0, k), np.int64)
    return np.sqrt(np.maximum(np.vstack(dists), 0)), np.vstack(idx)


class NeighbourVote:
    """Nearest-neighbour classifier over the training rows, with the unknown rule above."""

    def __init__(
        self,
        rows: np.ndarray,
        labels: np.ndarray,
        confidence: np.ndarray,
        *,
        n_neighbors: int = 15,
        unknown_quantile: float = 0.999,
        random_state: int | None = None,
    ) -> None:
        self.rows = np.ascontiguousarray(rows, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.confidence = np.asarray(confidence, dtype=np.float32)
        self.n_neighbors = max(1, min(n_neighbors, len(self.rows)))
        self.n_classes = int(self.labels.max(initial=-1)) + 1
        self._index: Any = None
        self._lock = threading.Lock()
        self.unknown_distance = self._unknown_distance(unknown_quantile, random_state)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_index"] = None  # a faiss index is rebuilt from the rows; it does not pickle
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _search(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:  # two request threads must not both build the index
            if self._index is None:
                faiss = _faiss()
                index = faiss.IndexFlatL2(self.rows.shape[1])
                index.add(self.rows)
                self._index = index
        return search_in_blocks(self._index, X, k)

    def nearest(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the ``k`` training rows nearest each row of ``X``."""
        return self._search(X, max(1, min(k, len(self.rows))))

    def _unknown_distance(self, quantile: float, random_state: int | None) -> float:
        if len(self.rows) < 2:
            return float("inf")
        rng = np.random.default_rng(random_state)
        take = rng.choice(len(self.rows), min(len(self.rows), 10000), replace=False)
        dists, _ = self._search(self.rows[take], 2)
        return float(np.quantile(dists[:, 1], quantile))

    def training_neighbours(self, k: int) -> np.ndarray:
        """Indices of each training row's ``k`` nearest other training rows."""
        k = max(1, min(k, len(self.rows) - 1))
        return self._search(self.rows, k + 1)[1][:, 1:]

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels (-1 for unknown) and confidences in [0, 1] for rows in the training space."""
        dists, idx = self._search(X, self.n_neighbors)
        votes = np.zeros((len(X), max(self.n_classes, 1)), np.float32)
        neighbour_labels = self.labels[idx]
        weights = self.confidence[idx]
        valid = neighbour_labels >= 0
        rows = np.repeat(np.arange(len(X)), self.n_neighbors).reshape(idx.shape)
        np.add.at(votes, (rows[valid], neighbour_labels[valid]), weights[valid])
        labels = votes.argmax(axis=1).astype(np.int64)
        confidence = votes.max(axis=1) / self.n_neighbors
        unknown = (dists[:, 0] > self.unknown_distance) | (votes.max(axis=1) <= 0)
        labels[unknown] = -1
        confidence[unknown] = 0.0
        return labels, np.clip(confidence, 0.0, 1.0).astype(np.float32)
