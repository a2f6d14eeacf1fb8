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
* unknown (-1, confidence 0): decided by ``ImageClusterer`` on a score calibrated on held-out
  in-domain images (``pixclass.cluster.unknown``: the distance to the nearest training image
  plus the PCA residual). This class's own rule, used only where no calibrated threshold exists
  (models saved before it, ``predict`` on bare PCA rows): the nearest training image is farther
  away than the ``unknown_quantile`` quantile of the nearest-neighbour distances among the
  training images themselves.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from pixclass.cluster.index import exact_index, ivf_index, search_in_blocks, wants_ivf

__all__ = ["NeighbourVote", "search_in_blocks"]


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
        self.random_state = random_state
        self._index: Any = None
        self._lock = threading.Lock()
        self._ivf: Any = None
        self.unknown_distance = self._unknown_distance(unknown_quantile, random_state)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # A faiss index is rebuilt from the rows; it does not pickle.
        state["_index"] = state["_ivf"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("_ivf", None)  # models saved before the approximate index
        state.setdefault("random_state", None)
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _search(
        self, X: np.ndarray, k: int, *, planned: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact search for small jobs, the inverted-file index for big ones (``index``).

        ``planned``: the queries of the whole job when ``X`` is one batch of it, so that a
        million rows sent in batches are searched the way a million at once would be.
        """
        with self._lock:  # two request threads must not both build an index
            if wants_ivf(len(self.rows), max(len(X), planned or 0)):
                if self._ivf is None:
                    self._ivf = ivf_index(self.rows, random_state=self.random_state)
                index = self._ivf
            else:
                if self._index is None:
                    self._index = exact_index(self.rows)
                index = self._index
        return search_in_blocks(index, X, k)

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

    def predict(self, X: np.ndarray, *, unknown: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Labels (-1 for unknown) and confidences in [0, 1] for rows in the training space.

        ``unknown=False`` gives every row the class its neighbours vote for, however far they
        are: what assigning the rest of a collection after fitting on a sample of it wants.
        """
        dists, idx = self._search(X, self.n_neighbors)
        return self.vote(dists, idx, unknown=unknown)

    def vote(
        self, dists: np.ndarray, idx: np.ndarray, *, unknown: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rule above, given each row's neighbours (``idx`` -1 where a search found none)."""
        n = len(idx)
        votes = np.zeros((n, max(self.n_classes, 1)), np.float32)
        neighbour_labels = np.where(idx >= 0, self.labels[np.maximum(idx, 0)], -1)
        weights = self.confidence[np.maximum(idx, 0)]
        valid = neighbour_labels >= 0
        rows = np.repeat(np.arange(n), idx.shape[1]).reshape(idx.shape)
        np.add.at(votes, (rows[valid], neighbour_labels[valid]), weights[valid])
        labels = votes.argmax(axis=1).astype(np.int64)
        confidence = votes.max(axis=1) / self.n_neighbors
        unlike = votes.max(axis=1) <= 0
        if unknown:
            unlike |= dists[:, 0] > self.unknown_distance
        labels[unlike] = -1
        confidence[unlike] = 0.0
        return labels, np.clip(confidence, 0.0, 1.0).astype(np.float32)
