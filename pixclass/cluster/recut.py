"""Re-cutting a fitted run into more or fewer classes, without features or a new embedding.

No single number of classes is right for every person (animals, or cats and dogs?). A fitted
``ImageClusterer`` keeps the UMAP embedding it clustered and the PCA rows its predictor searches,
so another k costs one clustering of a 10-d embedding (seconds on 70,000 images) instead of
decoding, extracting features and running UMAP again.

A re-cut has no refinement network: the network was trained on the old classes, and training
it again is what a full run (or ``learn``) is for. The classes of the new cut are numbered from
the largest down, as a fitted run's are.
"""

from __future__ import annotations

import copy

import numpy as np

from pixclass.cluster.assign import cluster_embedding
from pixclass.cluster.estimator import ImageClusterer, _relabel_by_size
from pixclass.cluster.model import Model
from pixclass.cluster.predictor import NeighbourVote
from pixclass.errors import InputError, PixclassError

# A re-cut into more classes than this is a different question (near-duplicates, not classes).
MAX_RECUT = 200


def check_recut_k(n_clusters: object, n_images: int) -> int:
    """The number of classes for a re-cut, or a ``PixclassError`` naming what is accepted."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise InputError(f"k must be a whole number of classes, got {n_clusters!r}")
    top = min(MAX_RECUT, n_images)
    if not 1 <= int(n_clusters) <= top:
        raise InputError(f"k must be between 1 and {top} for this run, got {n_clusters}")
    return int(n_clusters)


def recut_clusterer(
    clusterer: ImageClusterer, n_clusters: int, *, random_state: int | None = None
) -> ImageClusterer:
    """A copy of ``clusterer`` whose classes are its embedding clustered into ``n_clusters``."""
    embedding = getattr(clusterer, "embedding_", None)
    if embedding is None:
        raise PixclassError("this run kept no embedding to re-cut; run the clustering again")
    k = check_recut_k(n_clusters, len(embedding))
    # HDBSCAN finds its own number of classes, so a re-cut asks the mixture instead.
    method = "gmm" if clusterer.method == "hdbscan" else clusterer.method
    labels, confidence = cluster_embedding(
        embedding, k, method=method, centers=None, random_state=random_state
    )
    labels = _relabel_by_size(labels)
    out = copy.copy(clusterer)
    out.n_clusters = k
    out.method = method
    out.labels_ = labels
    out.confidence_ = np.asarray(confidence, np.float32)
    out.n_clusters_ = int(len(np.unique(labels[labels >= 0])))
    out.agreement_ = np.ones(len(labels), np.float32)
    out.runs_ = [{"n_clusters": k, "agreement": 1.0}]
    out.k_choice_ = None
    old = clusterer.predictor_
    out.predictor_ = NeighbourVote(
        old.rows,
        labels,
        out.confidence_,
        n_neighbors=old.n_neighbors,
        unknown_quantile=clusterer.unknown_quantile,
        random_state=random_state,
    )
    return out


def recut(model: Model, n_clusters: int, *, random_state: int | None = None) -> Model:
    """A new ``Model`` with the same features and embedding, cut into ``n_clusters`` classes.

    Names do not carry over here (the classes are new); the caller maps them by overlap.
    """
    clusterer = recut_clusterer(model.clusterer, n_clusters, random_state=random_state)
    return Model(
        features=model.features,
        feature_params=dict(model.feature_params),
        color_mode=model.color_mode,
        image_size=tuple(model.image_size),  # type: ignore[arg-type]
        clusterer=clusterer,
        refiner=None,
        deskew=model.deskew,
    )


def plausible_counts(clusterer: ImageClusterer) -> list[int]:
    """Other numbers of classes the fit saw evidence for, besides the one it chose.

    The density groups before the unimodality splits, each consensus run's own count, and the
    count before small groups were taken for fragments: where these differ from the answer, a
    person who wants a coarser or finer cut knows where to look.
    """
    chosen = int(clusterer.n_clusters_)
    seen: set[int] = set()
    choice = getattr(clusterer, "k_choice_", None)
    if choice is not None:
        seen.add(int(choice.density_groups))
        seen.add(int(choice.density_groups) + sum(int(s["split"]) for s in choice.splits))
    for run in getattr(clusterer, "runs_", []):
        seen.add(int(run["n_clusters"]))
    return sorted(k for k in seen if k >= 1 and k != chosen)


def counts_text(n_clusters: int, others: list[int]) -> str:
    """ "10 classes; 6 and 14 also fit": the chosen count and the others there was evidence for."""
    line = f"{n_clusters} classes"
    if not others:
        return line
    listed = ", ".join(map(str, others[:-1])) + (" and " if len(others) > 1 else "")
    verb = "fits" if len(others) == 1 else "fit"
    return f"{line}; {listed}{others[-1]} also {verb}"


def neighbour_counts(
    n_clusters: int, others: list[int], most: int
) -> tuple[int | None, int | None]:
    """The counts a "fewer" and a "more classes" button re-cut to: the nearest plausible count
    on each side, else one class fewer or more (None where there is no such cut)."""
    below = [k for k in others if k < n_clusters]
    above = [k for k in others if n_clusters < k <= most]
    fewer = max(below) if below else (n_clusters - 1 if n_clusters > 1 else None)
    more = min(above) if above else (n_clusters + 1 if n_clusters < most else None)
    return fewer, more
