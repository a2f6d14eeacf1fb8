"""One place that makes the SparkSession, so the CLI, the benchmarks and the tests agree."""

from __future__ import annotations

import os
import sys
from typing import Any

from pixclass.spark import require_pyspark

# Rows per Arrow batch handed to a Python worker: one decode-and-embed batch. Spark's default
# (10,000) would hold 10,000 encoded photos in one pandas frame.
ARROW_BATCH = 2048
LOCAL_DRIVER_MEMORY = "4g"


def spark_session(master: str | None = None, *, app_name: str = "pixclass") -> Any:
    """The active SparkSession, or a new one.

    ``master`` wins; otherwise what ``spark-submit`` or ``spark-defaults.conf`` set; otherwise
    ``local[2]`` (two cores on this machine, which is what a laptop run wants).
    """
    require_pyspark()
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master is None and not SparkConf().contains("spark.master"):
        master = "local[2]"
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        # Local workers run this interpreter (with pixclass and its dependencies), not whatever
        # `python3` is first on PATH. On a cluster, spark-submit's PYSPARK_PYTHON says which.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # In local mode the driver's JVM is also the executor; Spark's 1 GB default runs out
        # on a few hundred thousand 512-d rows.
        if not SparkConf().contains("spark.driver.memory"):
            builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
    return (
        builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
