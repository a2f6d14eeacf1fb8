"""``pixclass cluster --engine spark``: the Spark engine from the shell (``pixclass.spark``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pixclass.cli.common import err_console
from pixclass.errors import InputError


def cluster_on_spark(
    source: str,
    output: str,
    n_clusters: int | str,
    options: tuple[str, str, int | None, bool | None, bool | None],
    model_out: str | None,
    progress: Any,
) -> None:
    """Images under SOURCE -> classes and assignments on Spark; a ``.parquet`` table of
    embeddings (column ``features``) -> MLlib k-means.

    ``options`` are the command's (features, method, seed, refine, deskew).
    """
    from pixclass.spark.session import spark_session

    features, method, seed, refine, deskew = options
    discover_params: dict[str, Any] = {
        "features": features,
        "method": method,
        "seed": seed,
        "refine": "auto" if refine is None else refine,
        "deskew": "auto" if deskew is None else deskew,
    }

    if output == "-":
        raise InputError("--engine spark writes files; give --output PATH.csv, not '-'")
    spark = spark_session()
    if source.rstrip("/").endswith(".parquet"):
        _embeddings(spark, source, output, n_clusters, discover_params)
        return
    from pixclass.spark.engine import cluster_with_spark

    run = cluster_with_spark(
        spark, source, output, n_clusters=n_clusters, progress=progress, **discover_params
    )
    err_console.print(
        f"spark: fitted on a random sample of {run.n_sample:,} of {run.n_images:,} images on "
        f"the driver; every image assigned on the executors",
        highlight=False,
        soft_wrap=True,
    )
    for size, count in sorted(run.sizes.items()):
        err_console.print(f"  class {size}: {count:,} images", highlight=False, soft_wrap=True)
    if run.errors_csv is not None:
        err_console.print(
            f"[yellow]{run.n_unreadable} file(s) could not be read[/]; reasons in {run.errors_csv}"
        )
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items() if k != "total")
    err_console.print(
        f"time: {run.timings['total']:.1f}s ({stages})", highlight=False, soft_wrap=True
    )
    if model_out:
        run.discovery.model.save(model_out)
    err_console.print(f"assignments: {run.csv}, {run.parquet}", highlight=False, soft_wrap=True)


def _embeddings(
    spark: Any, source: str, output: str, n_clusters: int | str, params: dict[str, Any]
) -> None:
    from pixclass.spark.mllib import classes_on_sample, cluster_embeddings

    frame = spark.read.parquet(str(Path(source).resolve()))
    seed = params.get("seed")
    k = n_clusters if isinstance(n_clusters, int) else classes_on_sample(frame, seed=seed)
    assigned, _ = cluster_embeddings(frame, k, method="kmeans", seed=seed)
    out = Path(output)
    parquet = out.with_name(out.stem + ".parquet")
    assigned.drop("features").write.mode("overwrite").parquet(str(parquet.resolve()))
    keep = [c for c in assigned.columns if c != "features"]
    with out.open("w") as handle:
        handle.write(",".join(keep) + "\n")
        for row in spark.read.parquet(str(parquet.resolve())).toLocalIterator():
            handle.write(",".join(str(row[c]) for c in keep) + "\n")
    click.echo(f"{k} classes (MLlib k-means); assignments: {out}, {parquet}", err=True)
