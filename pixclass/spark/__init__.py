"""The Spark engine: past one machine, with Spark doing the distribution.

``pixclass cluster --engine spark SOURCE`` reads the files with Spark's ``binaryFile`` source,
fits the pipeline on a sample on the driver (as ``pixclass.cluster.sample`` does on one machine),
broadcasts the fitted model, and decodes, embeds and assigns every image on the executors in
batches (``mapInPandas``; the model is unpickled once per Python worker). Assignments are written
as Parquet and CSV. ``pixclass.spark.mllib`` clusters precomputed embeddings at full scale with
MLlib's KMeans or BisectingKMeans. ``docs/scale.md`` gives the ``spark-submit`` command.

pyspark is an extra: ``pip install 'pixclass[spark]'`` (it needs Java 17 or newer).
"""

from __future__ import annotations

from typing import Any

from pixclass.errors import MissingExtraError


def require_pyspark(purpose: str = "The Spark engine (--engine spark)") -> Any:
    """The ``pyspark`` module, or a ``MissingExtraError`` that names the extra to install."""
    try:
        import pyspark
    except ImportError as exc:
        raise MissingExtraError("pyspark", "spark", purpose) from exc
    return pyspark
