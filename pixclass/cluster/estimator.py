"""``ImageClusterer``: the unsupervised pipeline as a scikit-learn estimator.

scaling -> PCA -> UMAP -> (choose k) -> clustering, fitted on feature rows (one per image).
Feature extraction happens before (``pixclass.features``); ``pixclass.cluster.Model`` ties the
two together for images.
"""

from __future__ import annotations

import numbers
import time
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from pixclass.cluster.assign import METHODS, cluster_embedding
from pixclass.cluster.choose_k import KChoice, choose_n_clusters
from pixclass.cluster.consensus import modal_k, runs_for, vote
from pixclass.cluster.predictor import NeighbourVote
from pixclass.cluster.reduce import MIN_SAMPLES_FOR_UMAP, embed_again, fit_reduction
from pixclass.cluster.unknown import held_out_threshold, leave_one_out_threshold, unknown_scores
from pixclass.progress import ProgressCallback, report

# Up to this many rows a set counts as small: UMAP looks at fewer neighbours (see n_neighbors).
SMALL_SET = 5000


class ImageClusterer(ClusterMixin, BaseEstimator):
    """Discover classes in feature rows without labels.

    Parameters
    ----------
    n_clusters : int or "auto", default="auto"
        Number of classes. "auto" estimates it from density and unimodality (see
        ``pixclass.cluster.choose_k``). Ignored by ``method="hdbscan"``, which finds its own.
    method : {"gmm", "kmeans", "hdbscan", "agglomerative"}, default="gmm"
        Clustering of the UMAP embedding. The Gaussian mixture gives the best-calibrated
        confidences; HDBSCAN marks outliers as -1.
    scale : {"none", "standard", "l2"}, default="none"
        Scaling before PCA. "none" suits pixels (standardising would amplify the near-empty border
        pixels); "l2" suits network embeddings.
    pca_components : int, default=50
        PCA components before UMAP; 30-100 works for most image sets.
    umap_components : int, default=10
        Dimensions of the UMAP embedding that is clustered. 0 clusters the PCA components
        directly. 5-20 works well; 2 is for pictures, not for clustering.
    n_neighbors : int or "auto", default="auto"
        UMAP neighbourhood size. Larger values (30-50) keep similar classes from fragmenting;
        smaller ones (10-15) separate fine sub-styles. "auto" is 30, but 15 up to
        ``SMALL_SET`` (5,000) rows, where 30 neighbours reach across a class of a few hundred
        images (digits, 1,797 images, five-run consensus: ACC 0.950-0.952 with 15 against
        0.941-0.950 with 30).
    min_dist : float, default=0.0
        UMAP's packing; 0 gives the tight clusters clustering wants.
    n_epochs : int or None, default=None
        UMAP's optimisation passes. None: UMAP's own choice (500 up to 10,000 rows) but 100
        above 10,000 rows, where the graph is dense enough to settle sooner (MNIST 70k: the
        same accuracy as UMAP's default of 200, in 27 s less on 2 cores).
    n_runs : int or "auto", default="auto"
        UMAP layouts to cluster and vote over (``pixclass.cluster.consensus``), each from another
        random start on the same neighbour graph. "auto" is 5 up to 5,000 rows, 3 up to 20,000
        and 1 above, where a single layout is already stable (MNIST: two runs agree on 99.5%).
        With ``n_clusters="auto"`` the number of classes is the one most runs found. HDBSCAN
        always runs once (its number of classes is its own).
    max_clusters : int, default=50
        Upper bound for ``n_clusters="auto"``.
    min_cluster_size : int or None, default=None
        Smallest class worth reporting; None means 2% of the images (at least 10).
    fragment_factor : float, default=0.5
        With ``n_clusters="auto"``, a group smaller than this share of the median group is taken
        for a fragment of a class and merged; 0 keeps rare classes (see ``choose_k``).
    n_neighbors_predict : int, default=15
        Neighbours that vote in ``predict``.
    unknown_quantile : float, default=0.99
        ``predict`` returns -1 for an image farther from the training images than this quantile
        of held-out in-domain images (``pixclass.cluster.unknown``): about 1% of new images
        like the training ones come out unknown at 0.99, 0.1% at 0.999 (which lets more
        out-of-domain images through).
    random_state : int or None, default=None
        Seed. None lets UMAP use every core (faster, not bit-for-bit repeatable).
    n_jobs : int, default=-1
        Cores for UMAP when no seed is given.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Class of each training row (-1 only for HDBSCAN noise).
    confidence_ : ndarray of shape (n_samples,)
        Confidence of each label, in [0, 1].
    n_clusters_ : int
        Number of classes found.
    embedding_ : ndarray of shape (n_samples, umap_components)
        The embedding that was clustered.
    k_choice_ : KChoice or None
        What ``n_clusters="auto"`` found (centres, density groups, split tests) in the first run
        that found the consensus number of classes.
    agreement_ : ndarray of shape (n_samples,)
        Share of the runs that gave each row its label (all ones for a single run).
    runs_ : list of dict
        Per run: the number of classes it found and its agreement with the consensus.
    unknown_threshold_ : float
        Score above which ``predict`` calls a row unknown (``pixclass.cluster.unknown``).
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        n_clusters: int | str = "auto",
        method: str = "gmm",
        scale: str = "none",
        pca_components: int = 50,
        umap_components: int = 10,
        n_neighbors: int | str = "auto",
        min_dist: float = 0.0,
        n_epochs: int | None = None,
        n_runs: int | str = "auto",
        max_clusters: int = 50,
        min_cluster_size: int | None = None,
        fragment_factor: float = 0.5,
        n_neighbors_predict: int = 15,
        unknown_quantile: float = 0.99,
        random_state: int | None = None,
        n_jobs: int = -1,
    ) -> None:
        self.n_clusters = n_clusters
        self.method = method
        self.scale = scale
        self.pca_components = pca_components
        self.umap_components = umap_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.n_epochs = n_epochs
        self.n_runs = n_runs
        self.max_clusters = max_clusters
        self.min_cluster_size = min_cluster_size
        self.fragment_factor = fragment_factor
        self.n_neighbors_predict = n_neighbors_predict
        self.unknown_quantile = unknown_quantile
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _validate_params_values(self) -> None:
        auto = isinstance(self.n_clusters, str) and self.n_clusters == "auto"
        if not auto and not (
            isinstance(self.n_clusters, numbers.Integral) and int(self.n_clusters) >= 1
        ):
            raise ValueError(
                f"n_clusters must be 'auto' or a positive int, got {self.n_clusters!r}"
            )
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.scale not in ("none", "standard", "l2"):
            raise ValueError(f"scale must be 'none', 'standard' or 'l2', got {self.scale!r}")
        if self.n_epochs is not None and not (
            isinstance(self.n_epochs, numbers.Integral) and int(self.n_epochs) >= 1
        ):
            raise ValueError(f"n_epochs must be None or a positive int, got {self.n_epochs!r}")
        for name in ("n_neighbors", "n_runs"):
            value = getattr(self, name)
            if not (value == "auto" or (isinstance(value, numbers.Integral) and int(value) >= 1)):
                raise ValueError(f"{name} must be 'auto' or a positive int, got {value!r}")
        if not 0.0 < self.unknown_quantile <= 1.0:
            raise ValueError("unknown_quantile must be in (0, 1]")

    def fit(
        self, X: Any, y: Any = None, progress: ProgressCallback | None = None
    ) -> ImageClusterer:
        """Fit on feature rows ``X`` of shape (n_samples, n_features); ``y`` is ignored.

        ``progress(stage, done, total)`` is called as each stage starts and ends.
        """
        self._validate_params_values()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        self._fit_arrays(X, report(progress))
        return self

    def _fit_arrays(self, X: np.ndarray, tell: ProgressCallback) -> None:
        seed = None if self.random_state is None else int(self.random_state)
        self.timings_: dict[str, float] = {}
        clock = time.perf_counter()
        n_runs = self._runs(len(X))
        pca_rows, embeddings = self._reduce(X, n_runs, seed, tell)
        clock = self._lap("reduce", clock)
        choices: list[KChoice | None] = [None] * n_runs
        if isinstance(self.n_clusters, str):
            choices = self._choose_k(embeddings, seed, tell)
            k = modal_k([c.n_clusters for c in choices if c is not None])
            clock = self._lap("choose_k", clock)
        else:
            k = int(self.n_clusters)
        run_labels, run_conf = self._cluster_runs(embeddings, choices, k, seed, tell)
        # The first run that found k stands for the consensus where one layout is needed (the
        # embedding for the map, the k choice for the report).
        first = next((i for i, c in enumerate(choices) if c is not None and c.n_clusters == k), 0)
        self.k_choice_: KChoice | None = choices[first]
        self.embedding_ = embeddings[first]
        consensus = vote(run_labels, run_conf, max(k, 1))
        self.runs_ = [
            {"n_clusters": choice.n_clusters if choice is not None else k, "agreement": share}
            for choice, share in zip(choices, consensus.run_agreement, strict=True)
        ]
        self.agreement_ = consensus.agreement
        labels, confidence = _relabel_by_size(consensus.labels), consensus.confidence
        clock = self._lap("cluster", clock)
        self.labels_ = labels
        self.confidence_ = confidence.astype(np.float32)
        self.n_clusters_ = int(len(np.unique(labels[labels >= 0])))
        if self.n_clusters_ < k and self.method != "hdbscan":
            warnings.warn(
                f"asked for {k} classes but only {self.n_clusters_} were non-empty",
                stacklevel=3,
            )
        self.predictor_ = NeighbourVote(
            pca_rows,
            labels,
            self.confidence_,
            n_neighbors=self.n_neighbors_predict,
            unknown_quantile=self.unknown_quantile,
            random_state=seed,
        )
        self.unknown_threshold_ = leave_one_out_threshold(
            X, self.reduction_, self.predictor_, self.unknown_quantile, seed
        )
        self._lap("index", clock)

    def _reduce(
        self, X: np.ndarray, n_runs: int, seed: int | None, tell: ProgressCallback
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Fit the reduction (kept as ``reduction_``); the PCA rows and one layout per run."""
        stage = "reduce (PCA, UMAP)"
        tell(stage, 0, n_runs)
        reduction, pca_rows, embedding = fit_reduction(
            X,
            scale=self.scale,
            pca_components=self.pca_components,
            umap_components=self.umap_components,
            n_neighbors=self._neighbors(len(X)),
            min_dist=self.min_dist,
            n_epochs=self.n_epochs,
            random_state=seed,
            n_jobs=self.n_jobs,
        )
        embeddings = [embedding]
        tell(stage, 1, n_runs)
        for run in range(1, n_runs):
            run_seed = None if seed is None else seed + run
            embeddings.append(embed_again(reduction, pca_rows, run_seed))
            tell(stage, run + 1, n_runs)
        self.reduction_ = reduction
        return pca_rows, embeddings

    def _choose_k(
        self, embeddings: list[np.ndarray], seed: int | None, tell: ProgressCallback
    ) -> list[KChoice | None]:
        """What ``choose_n_clusters`` finds in each run's layout."""
        n_runs = len(embeddings)
        tell("choose k", 0, n_runs)
        choices: list[KChoice | None] = []
        for run, emb in enumerate(embeddings):
            choices.append(
                choose_n_clusters(
                    emb,
                    max_clusters=self.max_clusters,
                    min_cluster_size=self.min_cluster_size,
                    fragment_factor=self.fragment_factor,
                    random_state=seed,
                )
            )
            tell("choose k", run + 1, n_runs)
        return choices

    def _cluster_runs(
        self,
        embeddings: list[np.ndarray],
        choices: list[KChoice | None],
        k: int,
        seed: int | None,
        tell: ProgressCallback,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Labels and confidences of each run's layout split into ``k`` classes."""
        n_runs = len(embeddings)
        tell("cluster", 0, n_runs)
        run_labels, run_conf = [], []
        for run, emb in enumerate(embeddings):
            choice = choices[run]
            centers = choice.centers if choice is not None and choice.n_clusters == k else None
            labels, confidence = cluster_embedding(
                emb,
                k,
                method=self.method,
                centers=centers,
                random_state=seed,
                min_cluster_size=self.min_cluster_size,
            )
            run_labels.append(labels)
            run_conf.append(confidence)
            tell("cluster", run + 1, n_runs)
        return run_labels, run_conf

    def _runs(self, n_samples: int) -> int:
        # Without UMAP (too few rows, or umap_components=0) every run would be the same.
        if self.method == "hdbscan" or not self.umap_components or n_samples < MIN_SAMPLES_FOR_UMAP:
            return 1
        return runs_for(n_samples) if self.n_runs == "auto" else int(self.n_runs)

    def _neighbors(self, n_samples: int) -> int:
        if self.n_neighbors == "auto":
            return 15 if n_samples <= SMALL_SET else 30
        return int(self.n_neighbors)

    def _lap(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.timings_[stage] = now - since
        return now

    def predict_with_confidence(
        self, X: Any, *, unknown: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Classes (-1 = unknown) and confidences in [0, 1] for new rows; see ``predictor``.

        ``unknown=False`` gives every row a class (for the rest of a collection fitted on a
        sample of it).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        predictor = self.predictor_
        rows = self.reduction_.to_pca(X)
        threshold = getattr(self, "unknown_threshold_", None)
        if threshold is None:  # a model saved before calibration: the rule it was saved with
            return predictor.predict(rows, unknown=unknown)
        dists, idx = predictor._search(rows, predictor.n_neighbors)
        labels, confidence = predictor.vote(dists, idx, unknown=False)
        if unknown and len(rows):
            unlike = unknown_scores(dists[:, 0], self.reduction_.residual(X)) > threshold
            labels[unlike] = -1
            confidence[unlike] = 0.0
        return labels, confidence

    def calibrate_unknown(self, X: Any, *, quantile: float | None = None) -> ImageClusterer:
        """Set the unknown threshold from in-domain rows ``X`` kept out of the fit.

        At fit time the threshold comes from training rows scored leave-one-out; rows of the
        same domain that were never fitted on are the stricter test. ``quantile`` defaults to
        ``unknown_quantile``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        q = self.unknown_quantile if quantile is None else float(quantile)
        if not 0.0 < q <= 1.0:
            raise ValueError("quantile must be in (0, 1]")
        self.unknown_threshold_ = held_out_threshold(X, self.reduction_, self.predictor_, q)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Class of each new row, -1 for rows unlike every class."""
        return self.predict_with_confidence(X)[0]

    def fit_predict(self, X: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        return self.fit(X).labels_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Number classes 0, 1, ... from the largest down, dropping empty ids (-1 stays -1)."""
    labels = np.asarray(labels)
    kept = labels[labels >= 0]
    if kept.size == 0:
        return labels.astype(np.int64)
    ids, counts = np.unique(kept, return_counts=True)
    order = ids[np.argsort(-counts, kind="stable")]
    mapping = np.full(int(labels.max()) + 1, -1, np.int64)
    mapping[order] = np.arange(len(order))
    out = np.where(labels >= 0, mapping[np.maximum(labels, 0)], -1)
    return out.astype(np.int64)
