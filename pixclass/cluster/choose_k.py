"""Choosing the number of classes without labels.

One off-the-shelf score is not enough on image embeddings: silhouette prefers the few
super-groups that UMAP draws (3/5/8 and 4/7/9 on MNIST), and the Gaussian mixture's BIC keeps
rising because UMAP clusters are not Gaussian. pixclass combines two signals that each answer a
narrower question:

1. **Density** (HDBSCAN on a sample of the embedding) finds the groups separated by empty space.
   It never invents a class, but it can leave two touching groups merged (4 and 9 on MNIST).
2. **Unimodality** (the dip-means idea of Kalogeratos & Likas, 2012, with the projected test of
   Chamalis & Likas, 2018): each group is split in two by 2-means and its points are projected on
   the line through the two centres. Hartigan's dip test asks whether that 1-D distribution has
   one mode. A group that is really two classes shows two modes with a valley between them and is
   split; a single elongated class does not, however badly a Gaussian fits it. Splitting recurses
   until every group is unimodal.

The test runs on at most ``dip_sample`` points per group (default 500) so that its p-value measures
the shape of the distribution rather than the sample size: with thousands of points any wrinkle is
"significant". A group is split when the median p-value over ``dip_repeats`` random samples is
below ``dip_alpha`` (1e-4), and only groups clearly larger than the typical group are tested
(``split_factor``).

3. **Fragments**: a group less than half the median group's size (``fragment_factor``) is a
   style of some class that UMAP drew apart, not a class of its own; it is dropped and its images
   go to the nearest remaining class in the final clustering.

Measured here: on MNIST 70k this gives 9 density groups (4 and 9 merged), the dip test splits
4/9 (p < 1e-6; every other group p > 0.003), so 10 classes, across seeds and UMAP settings. On
scikit-learn's digits density finds 11: the 1s form two islands in every embedding tried, and
the smaller (79 images, 57 of them 1s, against a median group of 180) is dropped as a fragment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import diptest
import numpy as np
from sklearn.cluster import HDBSCAN, KMeans


@dataclass
class KChoice:
    """What ``choose_n_clusters`` found, kept on the fitted estimator for inspection."""

    n_clusters: int
    centers: np.ndarray
    density_groups: int
    splits: list[dict[str, float]] = field(default_factory=list)


def _density_groups(X: np.ndarray, min_cluster_size: int, min_samples: int) -> list[np.ndarray]:
    """Row indices of each HDBSCAN cluster (noise left out); all rows if none is found."""
    labels = HDBSCAN(
        min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True
    ).fit_predict(X)
    groups = [np.flatnonzero(labels == c) for c in range(labels.max() + 1)]
    return groups or [np.arange(len(X))]


def dip_split_pvalue(
    points: np.ndarray, *, sample: int, repeats: int, rng: np.random.Generator
) -> tuple[float, np.ndarray]:
    """Median dip-test p-value of the 2-means projection, and the 2-means labels of ``points``."""
    seed = int(rng.integers(2**31 - 1))
    two = KMeans(n_clusters=2, n_init=3, random_state=seed).fit(points)
    axis = two.cluster_centers_[1] - two.cluster_centers_[0]
    norm = float(np.linalg.norm(axis))
    if norm == 0.0:
        return 1.0, two.labels_
    projection = points @ (axis / norm)
    pvalues = []
    for _ in range(repeats):
        take = projection
        if len(projection) > sample:
            take = projection[rng.choice(len(projection), sample, replace=False)]
        pvalues.append(float(diptest.diptest(np.sort(take), sort_x=False)[1]))
    return float(np.median(pvalues)), two.labels_


def choose_n_clusters(
    X: np.ndarray,
    *,
    max_clusters: int = 50,
    min_cluster_size: int | None = None,
    sample_size: int = 10000,
    dip_alpha: float = 1e-4,
    dip_sample: int = 500,
    dip_repeats: int = 5,
    random_state: int | None = None,
    min_samples: int = 10,
    split_factor: float = 1.5,
    fragment_factor: float = 0.5,
) -> KChoice:
    """Estimate the number of classes in an embedding ``X`` (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        A low-dimensional embedding (UMAP) where classes are compact.
    max_clusters : int, default=50
        Splitting stops here.
    min_cluster_size : int or None, default=None
        Smallest group HDBSCAN reports and smallest part a split may leave; None means 2% of the
        sample, at least 10. Lower it to find rare classes; raise it to ignore small groups.
    sample_size : int, default=10000
        The search runs on this many random rows; the classes of a 70k set are all visible in 10k.
    dip_alpha : float, default=1e-4
        Split a group when the dip test rejects unimodality at this level. Strict, because
        UMAP's tight packing leaves mild wrinkles inside real classes.
    min_samples : int, default=10
        HDBSCAN's density smoothing.
    split_factor : float, default=1.5
        Only groups at least this many times the median group size are tested for a hidden
        second class: two merged classes make a group about twice the typical size, while the
        dip test on a normal-sized group mostly finds sub-styles (digits with and without a bar).
    fragment_factor : float, default=0.5
        A group smaller than this share of the median group size is taken for a fragment of a
        class (a style UMAP drew as its own island, like the 1s with a foot in scikit-learn's
        digits) and is not counted: its images go to the nearest class. Set 0 when some classes
        are expected to be far rarer than the others.

    Returns
    -------
    KChoice
        ``n_clusters`` and one centre per class (to initialise the final clustering).
    """
    rng = np.random.default_rng(random_state)
    X = X[rng.choice(len(X), sample_size, replace=False)] if len(X) > sample_size else X
    smallest = max(10, len(X) // 50) if min_cluster_size is None else min_cluster_size
    smallest = max(2, min(smallest, len(X) // 2))
    groups = _density_groups(X, smallest, min_samples=min(min_samples, smallest))
    test = partial(dip_split_pvalue, sample=dip_sample, repeats=dip_repeats, rng=rng)
    sizes = (smallest, max_clusters, split_factor)
    done, splits = _split_until_unimodal(X, groups, test, sizes, dip_alpha)
    done = _drop_fragments(done, fragment_factor)
    centers = np.array([X[rows].mean(axis=0) for rows in done])
    return KChoice(n_clusters=len(done), centers=centers, density_groups=len(groups), splits=splits)


def _split_until_unimodal(
    X: np.ndarray,
    groups: list[np.ndarray],
    test: Callable[[np.ndarray], tuple[float, np.ndarray]],
    sizes: tuple[int, int, float],
    dip_alpha: float,
) -> tuple[list[np.ndarray], list[dict[str, float]]]:
    """Split each large group whose 2-means projection ``test`` finds two modes in, until none
    has or there are ``max_clusters``; returns the groups and a record of each test.

    ``sizes`` is (min_cluster_size, max_clusters, split_factor), as in ``choose_n_clusters``.
    """
    min_cluster_size, max_clusters, split_factor = sizes
    done: list[np.ndarray] = []
    splits: list[dict[str, float]] = []
    todo = list(groups)
    typical = float(np.median([len(g) for g in groups]))
    while todo and len(done) + len(todo) < max_clusters:
        rows = todo.pop(0)
        if len(rows) < 2 * min_cluster_size or len(rows) < split_factor * typical:
            done.append(rows)
            continue
        pvalue, halves = test(X[rows])
        smaller = min(int(halves.sum()), int(len(halves) - halves.sum()))
        split = pvalue < dip_alpha and smaller >= min_cluster_size
        splits.append({"size": float(len(rows)), "pvalue": pvalue, "split": float(split)})
        if split:
            todo.extend([rows[halves == 0], rows[halves == 1]])
        else:
            done.append(rows)
    done.extend(todo)
    return done, splits


def _drop_fragments(groups: list[np.ndarray], fragment_factor: float) -> list[np.ndarray]:
    """Leave out the groups smaller than ``fragment_factor`` times the median group."""
    if fragment_factor <= 0 or len(groups) <= 2:
        return groups
    median = float(np.median([len(rows) for rows in groups]))
    return [rows for rows in groups if len(rows) >= fragment_factor * median]
