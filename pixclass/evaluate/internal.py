"""Scores of a clustering that need no labels, for unlabeled data."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score


def internal_scores(
    X: np.ndarray, labels: np.ndarray, *, sample_size: int = 5000, random_state: int = 0
) -> dict[str, float]:
    """Silhouette (on a sample, it is quadratic), Calinski-Harabasz and Davies-Bouldin.

    Unknown points (-1) are left out. With fewer than two clusters the scores are NaN, since none of
    them is defined there.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The space the clustering was made in (usually the reduced embedding).
    labels : ndarray of shape (n_samples,)
    sample_size : int, default=5000
        Silhouette is computed on this many random points; 5000 gives about two decimals.
    """
    X = np.asarray(X)
    labels = np.asarray(labels)
    keep = labels >= 0
    X, labels = X[keep], labels[keep]
    nan = float("nan")
    if len(np.unique(labels)) < 2 or len(labels) < 3:
        return {"silhouette": nan, "calinski_harabasz": nan, "davies_bouldin": nan}
    size = min(sample_size, len(labels))
    return {
        "silhouette": float(
            silhouette_score(X, labels, sample_size=size, random_state=random_state)
        ),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
    }
