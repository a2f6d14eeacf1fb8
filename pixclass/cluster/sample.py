"""Fit on a sample, apply to all: how ``discover`` stays fast and small on big collections.

UMAP, the choice of k and the mixture cost more than linearly in the number of rows, and they
learn nothing new from a million images of twenty classes that 30,000 of them did not show. So
above ``SAMPLE_ABOVE`` rows the pipeline is fitted on ``SAMPLE_SIZE`` rows drawn uniformly at
random (uniform, because without labels any smarter draw would need the clustering it is meant
to save; at 30,000 draws a class of 1% still brings about 300 images), and every other row is
classified by the fitted model -- its PCA and its neighbour vote -- in batches of ``BATCH`` rows,
so only one batch of feature rows is in memory at a time. The sampled rows keep the labels the
fit gave them. Afterwards the neighbour vote is rebuilt over every row (50 floats an image), so
prediction, "unknown" and similar-image search see the whole collection (``pixclass.cluster.index``
keeps that fast at a million rows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pixclass.cluster.estimator import ImageClusterer
from pixclass.cluster.predictor import NeighbourVote
from pixclass.progress import ProgressCallback

# Above this many rows ``discover`` fits on a sample (``sample="auto"``). MNIST's 70,000 are
# above it: fitted on 30,000 the first clustering is a little worse (ACC 0.974-0.975 against
# 0.980), but the refinement that relabels every image ends where it did (0.9845 both), and UMAP
# sees less than half the rows.
SAMPLE_ABOVE = 50_000
# Rows in the sample: one UMAP layout (consensus runs start at 20,000 and below), every class of
# a few percent well represented.
SAMPLE_SIZE = 30_000
# Rows classified at once after the fit.
BATCH = 50_000

RowsOf = Callable[[np.ndarray], np.ndarray]


@dataclass
class SampleFit:
    """What ``fit_on_sample`` did: the sample's row indices, the batches and their seconds."""

    sample: np.ndarray
    n_rows: int
    batch_size: int
    seconds_apply: float

    def describe(self) -> str:
        return (
            f"fitted on a random sample of {len(self.sample):,} of {self.n_rows:,} images; "
            f"the rest classified by the fitted model in batches of {self.batch_size:,}"
        )


def sample_rows(n_rows: int, size: int, random_state: int | None) -> np.ndarray:
    """Sorted indices of ``size`` rows drawn uniformly without replacement."""
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, min(size, n_rows), replace=False))


def fit_on_sample(
    estimator: ImageClusterer,
    rows_of: RowsOf,
    n_rows: int,
    *,
    sample_size: int = SAMPLE_SIZE,
    batch_size: int = BATCH,
    progress: ProgressCallback | None = None,
) -> SampleFit:
    """Fit ``estimator`` on a sample of the rows, then label all ``n_rows`` in batches.

    ``rows_of(indices)`` returns the feature rows of those indices (computed or read on demand,
    so a caller need never hold every row). Afterwards ``estimator.labels_`` and
    ``confidence_`` cover every row and its predictor votes among all of them; ``embedding_``
    stays the sample's.
    """
    tell = progress or (lambda stage, done, total: None)
    sample = sample_rows(n_rows, sample_size, estimator.random_state)
    estimator.fit(rows_of(sample), progress=progress)
    clock = time.perf_counter()
    labels = np.empty(n_rows, np.int64)
    confidence = np.empty(n_rows, np.float32)
    nearest = np.empty(n_rows, np.int64)
    pca_rows: np.ndarray | None = None
    predictor = estimator.predictor_
    starts = range(0, n_rows, batch_size)
    for done, start in enumerate(starts):
        tell("apply", done, len(starts))
        stop = min(start + batch_size, n_rows)
        reduced = estimator.reduction_.to_pca(rows_of(np.arange(start, stop)))
        if pca_rows is None:
            pca_rows = np.empty((n_rows, reduced.shape[1]), np.float32)
        pca_rows[start:stop] = reduced
        dists, idx = predictor._search(reduced, predictor.n_neighbors, planned=n_rows)
        labels[start:stop], confidence[start:stop] = predictor.vote(dists, idx, unknown=False)
        nearest[start:stop] = idx[:, 0]
    tell("apply", len(starts), len(starts))
    labels[sample], confidence[sample] = estimator.labels_, estimator.confidence_
    nearest[sample] = np.arange(len(sample))
    assert pca_rows is not None
    _cover_every_row(estimator, pca_rows, labels, confidence, nearest)
    seconds = time.perf_counter() - clock
    estimator.timings_["apply"] = seconds
    return SampleFit(sample, n_rows, batch_size, seconds)


def _cover_every_row(
    estimator: ImageClusterer,
    pca_rows: np.ndarray,
    labels: np.ndarray,
    confidence: np.ndarray,
    nearest: np.ndarray,
) -> None:
    """Fitted attributes over all rows; ``nearest_sample_`` is each row's closest sampled row."""
    estimator.labels_ = labels
    estimator.confidence_ = confidence
    estimator.agreement_ = np.ones(len(labels), np.float32)
    estimator.nearest_sample_ = np.maximum(nearest, 0)
    estimator.predictor_ = NeighbourVote(
        pca_rows,
        labels,
        confidence,
        n_neighbors=estimator.n_neighbors_predict,
        unknown_quantile=estimator.unknown_quantile,
        random_state=estimator.random_state,
    )
