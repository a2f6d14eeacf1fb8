"""Scores of a clustering against known labels: ACC (Hungarian matching), NMI, ARI."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def _as_codes(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Map arbitrary labels (ints, strings) to codes 0..m-1; returns (codes, unique values)."""
    uniques, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.ravel(), uniques


def confusion_matrix(y_true: Any, y_pred: Any) -> np.ndarray:
    """Counts of shape (n_pred_clusters, n_true_classes): ``C[p, t]`` in cluster p, class t.

    Unknown (-1) is a cluster of its own here, so it counts as wrong unless matched.
    """
    true_codes, _ = _as_codes(y_true)
    pred_codes, _ = _as_codes(y_pred)
    if len(true_codes) != len(pred_codes):
        raise ValueError(
            f"y_true has {len(true_codes)} labels but y_pred has {len(pred_codes)}; "
            "they must describe the same images"
        )
    counts = np.zeros((pred_codes.max(initial=-1) + 1, true_codes.max(initial=-1) + 1), np.int64)
    np.add.at(counts, (pred_codes, true_codes), 1)
    return counts


def matched_labels(y_true: Any, y_pred: Any) -> dict[Any, Any]:
    """The one-to-one cluster -> class matching that maximises agreement (Hungarian algorithm).

    With more clusters than classes the extra clusters stay unmatched (they count as errors in
    ``cluster_accuracy``); with fewer, some classes stay unmatched.
    """
    _, true_values = _as_codes(y_true)
    _, pred_values = _as_codes(y_pred)
    counts = confusion_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(-counts)
    return {pred_values[r].item(): true_values[c].item() for r, c in zip(rows, cols, strict=True)}


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """Unsupervised clustering accuracy: the best one-to-one matching of clusters to classes.

    Correct when the number of clusters differs from the number of classes: the matching is
    one-to-one on the rectangular confusion matrix, so surplus clusters score zero, and a clustering
    cannot gain by splitting classes.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Known classes (any hashable values).
    y_pred : array-like of shape (n_samples,)
        Cluster ids; -1 (unknown) is treated as one more cluster.

    Returns
    -------
    float in [0, 1]
    """
    counts = confusion_matrix(y_true, y_pred)
    if counts.size == 0:
        return 0.0
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / counts.sum())


def normalized_mutual_info(y_true: Any, y_pred: Any) -> float:
    """NMI with arithmetic normalisation (the convention of the clustering literature)."""
    return float(normalized_mutual_info_score(np.asarray(y_true), np.asarray(y_pred)))


def adjusted_rand(y_true: Any, y_pred: Any) -> float:
    """Adjusted Rand index: 1 for identical partitions, about 0 for chance."""
    return float(adjusted_rand_score(np.asarray(y_true), np.asarray(y_pred)))


def evaluate_labels(y_true: Any, y_pred: Any) -> dict[str, float]:
    """ACC, NMI and ARI together, plus the number of clusters and classes."""
    y_pred_arr = np.asarray(y_pred)
    return {
        "acc": cluster_accuracy(y_true, y_pred_arr),
        "nmi": normalized_mutual_info(y_true, y_pred_arr),
        "ari": adjusted_rand(y_true, y_pred_arr),
        "n_clusters": float(len(np.unique(y_pred_arr[y_pred_arr >= 0]))),
        "n_classes": float(len(np.unique(np.asarray(y_true)))),
    }
