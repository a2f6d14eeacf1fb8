"""Embedding-only clustering at full scale with Spark MLlib (KMeans, BisectingKMeans).

For precomputed embeddings (a Parquet table with one array column per image) there is nothing to
decode or embed, and the whole table can be clustered where it lies. UMAP does not distribute, so
this path clusters the embeddings directly; the number of classes, when not given, comes from the
full pipeline on a driver-side sample (``classes_on_sample``), which is where UMAP's view of the
data pays off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixclass.cluster.sample import SAMPLE_SIZE
from pixclass.errors import InputError

MLLIB_METHODS = ("kmeans", "bisecting")


def classes_on_sample(
    frame: Any, column: str = "features", *, sample_size: int = SAMPLE_SIZE, seed: int | None = None
) -> int:
    """The number of classes ``ImageClusterer`` finds on a uniform sample of ``frame[column]``."""
    from pixclass.cluster import ImageClusterer

    n_rows = frame.count()
    if n_rows < 2:
        raise InputError("need at least 2 embeddings to find classes")
    sampled = frame
    if n_rows > sample_size:
        fraction = min(1.0, 1.1 * sample_size / n_rows)
        sampled = frame.sample(withReplacement=False, fraction=fraction, seed=seed)
        sampled = sampled.limit(sample_size)
    rows = np.array([row[column] for row in sampled.select(column).toLocalIterator()], np.float32)
    return int(ImageClusterer(random_state=seed).fit(rows).n_clusters_)


def cluster_embeddings(
    frame: Any,
    n_clusters: int,
    *,
    column: str = "features",
    method: str = "kmeans",
    seed: int | None = None,
    max_iter: int = 20,
) -> tuple[Any, Any]:
    """``frame`` with a ``cluster`` column from MLlib's k-means, and the fitted MLlib model.

    ``method="bisecting"`` splits top-down (BisectingKMeans): steadier with many classes of very
    different sizes, at the cost of more passes.
    """
    from pyspark.ml.clustering import BisectingKMeans, KMeans
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    if method not in MLLIB_METHODS:
        raise InputError(f"method must be one of {', '.join(MLLIB_METHODS)}, got {method!r}")
    if column not in frame.columns:
        raise InputError(f"no column {column!r} in the table; it has {', '.join(frame.columns)}")
    vectors = frame.withColumn("_vector", array_to_vector(F.col(column)))
    kind = KMeans if method == "kmeans" else BisectingKMeans
    estimator = kind(
        k=int(n_clusters),
        featuresCol="_vector",
        predictionCol="cluster",
        maxIter=max_iter,
        seed=0 if seed is None else int(seed),
    )
    model = estimator.fit(vectors)
    return model.transform(vectors).drop("_vector"), model
