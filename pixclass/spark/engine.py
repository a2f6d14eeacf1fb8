"""Cluster a folder of image files on Spark: sample on the driver, assign on the executors.

1. ``read_images``: Spark's ``binaryFile`` source lists and reads the files (recursively, image
   extensions only), so the file system may be HDFS, S3 or a local folder alike.
2. A uniform random sample (``SAMPLE_SIZE``, as on one machine) is collected to the driver,
   decoded and given to ``discover`` -- features, UMAP, k, mixture, refinement -- which returns a
   fitted ``Model``. The working colour mode and size are decided from the sample.
3. The model's bytes are broadcast; ``mapInPandas`` decodes each Arrow batch of files on the
   executors, embeds them and assigns them with the model (unpickled once per Python worker, which
   Spark reuses across tasks). Unreadable files get cluster -1 and their reason.
4. The assignments are written as Parquet (``<output stem>.parquet/``) and, streamed back through
   the driver a partition at a time, as the same ``path,cluster,confidence`` CSV that the local
   engine writes, with unreadable files in ``<output stem>.errors.csv``.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixclass.cluster.sample import SAMPLE_SIZE
from pixclass.errors import InputError
from pixclass.io.decode import IMAGE_EXTENSIONS, ImageReadError, decode_bytes, read_header
from pixclass.io.load import auto_mode, auto_size
from pixclass.progress import ProgressCallback

ASSIGNED_SCHEMA = "path string, cluster long, confidence float, error string"
# Matches the paths ``read_images`` keeps: pixclass's image extensions, any letter case.
IMAGE_PATTERN = "(?i)(" + "|".join(e.replace(".", r"\.") for e in sorted(IMAGE_EXTENSIONS)) + ")$"


@dataclass
class SparkRun:
    """What ``cluster_with_spark`` did and where it wrote."""

    n_images: int
    n_sample: int
    parquet: Path
    csv: Path
    errors_csv: Path | None
    sizes: dict[int, int]
    n_unreadable: int
    discovery: Any
    timings: dict[str, float] = field(default_factory=dict)


def read_images(spark: Any, source: str) -> Any:
    """A DataFrame (path, content) of the image files under ``source`` (a folder or URI)."""
    from pyspark.sql import functions as F

    if "://" not in source and not Path(source).exists():
        raise InputError(f"{source} does not exist; give a folder of images (or a file system URI)")
    files = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(source if "://" in source else str(Path(source).resolve()))
    )
    return files.filter(F.col("path").rlike(IMAGE_PATTERN)).select("path", "content")


def cluster_with_spark(
    spark: Any,
    source: str,
    output: str | Path,
    *,
    sample_size: int = SAMPLE_SIZE,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
    **discover_params: Any,
) -> SparkRun:
    """Discover the classes of the images under ``source`` and assign every one (see above).

    ``discover_params`` go to ``pixclass.cluster.discover`` (``features``, ``n_clusters``,
    ``method``, ``refine``, ``deskew``).
    """
    from pixclass.cluster import discover

    clock = time.perf_counter()
    files = read_images(spark, source)
    n_images = files.count()
    if n_images == 0:
        raise InputError(f"no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {source}")
    images = _sample_images(files, n_images, sample_size, seed)
    timings = {"read sample": time.perf_counter() - clock}
    discovery = discover(images, seed=seed, sample=False, progress=progress, **discover_params)
    timings["fit on sample"] = time.perf_counter() - clock - timings["read sample"]
    model_bytes = discovery.model.to_bytes()
    assigned = assign_with_spark(spark, files, model_bytes)
    output = Path(output)
    parquet = output.with_name(output.stem + ".parquet")
    assigned.write.mode("overwrite").parquet(str(parquet.resolve()))
    timings["assign on executors"] = time.perf_counter() - clock - sum(timings.values())
    prefix = _local_prefix(source)
    sizes, errors_csv, unreadable = _write_csv(spark, parquet, output, prefix)
    timings["total"] = time.perf_counter() - clock
    return SparkRun(
        n_images, len(images), parquet, output, errors_csv, sizes, unreadable, discovery, timings
    )


def _sample_images(files: Any, n_images: int, size: int, seed: int | None) -> np.ndarray:
    """A uniform random sample of the files, decoded on the driver at the sample's working
    colour mode and size (``pixclass.io.load``'s rules)."""
    if n_images > size:
        # A little over the fraction, then cut, so the sample is rarely short of ``size``.
        fraction = min(1.0, 1.1 * size / n_images)
        files = files.sample(withReplacement=False, fraction=fraction, seed=seed).limit(size)
    blobs, infos = [], []
    for row in files.toLocalIterator():
        try:
            infos.append(read_header(bytes(row.content)))
            blobs.append(bytes(row.content))
        except ImageReadError:
            continue  # listed with its reason when the executors assign it
    if len(blobs) < 2:
        raise InputError("fewer than 2 readable images in the sample; check the source folder")
    mode = auto_mode(infos)
    shape = auto_size((info.height, info.width) for info in infos)
    decoded = []
    for blob in blobs:
        try:
            decoded.append(decode_bytes(blob, mode=mode, size=shape))
        except ImageReadError:
            continue
    return np.stack(decoded)


def assign_with_spark(spark: Any, files: Any, model_bytes: bytes) -> Any:
    """``files`` (path, content) with cluster, confidence and error, computed on the executors."""
    key = hashlib.sha256(model_bytes).hexdigest()[:16]
    shared = spark.sparkContext.broadcast(model_bytes)
    return files.mapInPandas(_assign_batches(key, shared), schema=ASSIGNED_SCHEMA)


# The model each Python worker has unpickled, by the hash of its bytes: Spark reuses a worker
# for many tasks, and unpickling (and building the network) once per batch would dominate.
_LOADED: dict[str, Any] = {}


def _assign_batches(key: str, shared: Any) -> Callable[[Iterator[Any]], Iterator[Any]]:
    def run(frames: Iterator[Any]) -> Iterator[Any]:
        from pixclass.cluster.model import Model

        model = _LOADED.get(key)
        if model is None:
            _LOADED.clear()
            model = _LOADED[key] = Model.from_bytes(shared.value)
        for frame in frames:
            yield assign_frame(model, frame)

    return run


def assign_frame(model: Any, frame: Any) -> Any:
    """One pandas batch (path, content) -> (path, cluster, confidence, error)."""
    import pandas as pd

    mode, size = model.color_mode, tuple(model.image_size)
    arrays, readable = [], []
    errors: list[str | None] = [None] * len(frame)
    for i, data in enumerate(frame["content"]):
        try:
            arrays.append(decode_bytes(bytes(data), mode=mode, size=size))
            readable.append(i)
        except ImageReadError as exc:
            errors[i] = exc.reason
    labels = np.full(len(frame), -1, np.int64)
    confidence = np.zeros(len(frame), np.float32)
    if arrays:
        # Every readable image gets a class: the model was fitted on a sample of these images.
        labels[readable], confidence[readable] = model.predict(np.stack(arrays), unknown=False)
    return pd.DataFrame(
        {"path": frame["path"], "cluster": labels, "confidence": confidence, "error": errors}
    )


def _local_prefix(source: str) -> str | None:
    """The URI prefix Spark gives local files under ``source``, cut from the CSV's names."""
    if "://" in source:
        return None
    return "file:" + str(Path(source).resolve()).rstrip("/") + "/"


def _write_csv(
    spark: Any, parquet: Path, output: Path, prefix: str | None
) -> tuple[dict[int, int], Path | None, int]:
    """Stream the Parquet assignments (sorted by path) into the CSV and the errors CSV."""
    rows = spark.read.parquet(str(parquet.resolve())).orderBy("path").toLocalIterator()
    sizes: dict[int, int] = {}
    failed: list[tuple[str, str]] = []
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "cluster", "confidence"])
        for row in rows:
            name = row.path[len(prefix) :] if prefix and row.path.startswith(prefix) else row.path
            if row.error is not None:
                failed.append((name, row.error))
                continue
            writer.writerow([name, int(row.cluster), f"{float(row.confidence):.4f}"])
            sizes[int(row.cluster)] = sizes.get(int(row.cluster), 0) + 1
    if not failed:
        return sizes, None, 0
    errors = output.with_name(output.stem + ".errors.csv")
    with errors.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "reason"])
        writer.writerows(failed)
    return sizes, errors, len(failed)
