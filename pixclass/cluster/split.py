"""Split one class into parts: k-means on its feature rows (a person saw two kinds in it)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from pixclass.errors import InputError


def split_rows(rows: np.ndarray, k: int, *, random_state: int | None = 0) -> list[np.ndarray]:
    """Divide ``rows`` into ``k`` groups with k-means.

    Parameters
    ----------
    rows : array-like of shape (n_samples, n_features)
        The class's images in a feature space (a run's PCA space works well).
    k : int
        Number of parts, 2 to ``n_samples``.
    random_state : int or None, default=0

    Returns
    -------
    parts : list of ndarray of int
        Row indices of each part, largest part first; within a part the row closest to its
        centre comes first (a good representative).
    """
    X = np.asarray(rows, dtype=np.float64)
    if X.ndim != 2:
        raise InputError("rows must be a 2-D array")
    if not 2 <= k <= len(X):
        raise InputError(
            f"a class of {len(X)} images can be split into 2 to {len(X)} parts, not {k}"
        )
    model = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit(X)
    distances = np.linalg.norm(X - model.cluster_centers_[model.labels_], axis=1)
    parts = []
    for label in range(k):
        members = np.flatnonzero(model.labels_ == label)
        if len(members):
            parts.append(members[np.argsort(distances[members], kind="stable")])
    parts.sort(key=len, reverse=True)
    return parts
