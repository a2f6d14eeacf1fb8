"""Cluster a stored collection and store the run: ``run_collection_clustering``.

The images are decoded from the stored bytes the same way ``io.load_images`` decodes files (one
colour mode and one size, chosen from the headers), then ``pixclass.cluster.discover`` runs, and
everything it found is written in one transaction. If anything raises, the run is marked failed
with the error (cancelled when a progress callback raised ``progress.Cancelled``); if the process
is killed, the heartbeat stops and the next store opened marks it failed (see ``runs``).
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixclass.errors import NoImagesError
from pixclass.io.decode import (
    DecodeMode,
    ImageInfo,
    ImageReadError,
    bomb_warnings_as_errors,
    decode_bytes,
)
from pixclass.io.imageset import ImageSet, SkippedImage
from pixclass.io.labeled import sorted_class_names
from pixclass.io.load import ModeArg, SizeArg, auto_mode, auto_size, check_mode, check_size
from pixclass.jsonable import jsonable
from pixclass.progress import Cancelled, ProgressCallback, report
from pixclass.store.collections import find_collection_id
from pixclass.store.db import Store
from pixclass.store.images import image_headers, iter_image_bytes
from pixclass.store.results import RunResult, save_result
from pixclass.store.runs import Heartbeat, cancel_run, create_run, fail_run, start_run

# Images fetched from the database per query while decoding.
FETCH_CHUNK = 500


@dataclass(frozen=True)
class StoredImageSet:
    """A collection decoded for clustering, with the database id of each row."""

    imageset: ImageSet
    image_ids: list[int]


def run_collection_clustering(
    store: Store,
    collection_name: str,
    *,
    n_clusters: int | str = "auto",
    features: str = "auto",
    seed: int | None = 0,
    progress: ProgressCallback | None = None,
    mode: ModeArg = "auto",
    size: SizeArg = "auto",
    map_2d: bool = True,
    n_jobs: int = 2,
    on_run: Callable[[int], None] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    **params: Any,
) -> int:
    """Cluster the images of a collection and store the run; returns the run id.

    Raises ``NotFoundError`` for no such collection, ``NoImagesError`` for fewer than two images.

    Parameters
    ----------
    n_clusters : int or "auto"; features : extractor name or "auto" (``features.choose``)
    seed : int or None, default=0
        For repeatable runs; None lets UMAP use every core.
    progress : callable, optional
        ``progress(stage, done, total)``: "decode", then the stages of ``discover``.
    mode, size, n_jobs
        Decoding, as for ``pixclass.io.load_images`` (``n_jobs`` threads).
    map_2d : bool, default=True
        Compute the 2-D map coordinates that the web app draws.
    on_run : callable, optional
        Called with the run id as soon as the run exists (a job records it).
    cache_dir : path, optional
        Embedding cache (``Settings.cache_dir``): a second run on the same images embeds nothing.
    **params
        Further ``discover`` / ``ImageClusterer`` parameters.
    """
    from pixclass.cluster import discover  # heavy (umap, numba): only when clustering

    request = {"n_clusters": n_clusters, "features": features, "seed": seed, **params}
    run_id = create_run(store, collection_name, features=features, params=jsonable(request))
    with _run_lifecycle(store, run_id, on_run):
        started = time.perf_counter()
        loaded = load_collection(
            store, collection_name, mode=mode, size=size, n_jobs=n_jobs, progress=progress
        )
        decode_seconds = time.perf_counter() - started
        found = discover(
            loaded.imageset,
            features=features,
            n_clusters=n_clusters,
            seed=seed,
            map_2d=map_2d,
            cache_dir=cache_dir,
            progress=progress,
            **params,
        )
        save_result(store, run_id, _result(loaded, found, decode_seconds))
    return run_id


@contextlib.contextmanager
def _run_lifecycle(
    store: Store, run_id: int, on_run: Callable[[int], None] | None
) -> Iterator[None]:
    """Run ``run_id`` with a heartbeat; marked cancelled or failed (with why) if it raises."""
    try:
        # Started before anyone is told of it: a process killed in between leaves a running run
        # with this pid, which the next store opened marks failed (a queued one it would not).
        start_run(store, run_id)
        if on_run is not None:
            on_run(run_id)
        with Heartbeat(store, run_id):
            yield
    except Cancelled:
        cancel_run(store, run_id)
        raise
    except BaseException as exc:
        fail_run(store, run_id, _describe(exc))
        raise


def _result(loaded: StoredImageSet, found: Any, decode_seconds: float) -> RunResult:
    from pixclass.cluster.recut import plausible_counts

    imageset = loaded.imageset
    labels = np.asarray(found.labels)
    confidence = np.asarray(found.confidence, dtype=float)
    metrics: dict[str, Any] = {
        "n_images": len(labels),
        "n_clusters": int(found.n_clusters),
        "n_unknown": int((labels < 0).sum()),
        "mean_confidence": float(confidence.mean()) if len(confidence) else 0.0,
        "n_skipped": len(imageset.skipped),
        "plausible_counts": plausible_counts(found.model.clusterer),
    }
    if imageset.labels is not None and (imageset.labels >= 0).all():
        from pixclass.evaluate import evaluate_labels

        metrics["against_known_labels"] = evaluate_labels(imageset.labels, labels)
    return RunResult(
        image_ids=loaded.image_ids,
        labels=labels,
        confidence=confidence,
        embedding_2d=found.embedding_2d,
        representatives=found.representatives,
        n_clusters=int(found.n_clusters),
        params=jsonable(found.params),
        timings={"decode": decode_seconds, **{k: float(v) for k, v in found.timings.items()}},
        metrics=jsonable(metrics),
        model=found.model.to_bytes(),
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def load_collection(
    store: Store,
    collection_name: str,
    *,
    mode: ModeArg = "auto",
    size: SizeArg = "auto",
    n_jobs: int = 2,
    progress: ProgressCallback | None = None,
) -> StoredImageSet:
    """Decode every image of a collection to one colour mode and size, like ``io.load_images``.

    Known labels (from datasets and labeled folders) come along for evaluation.
    """
    checked_mode, checked_size = check_mode(mode), check_size(size)
    rows = image_headers(store, find_collection_id(store, collection_name))
    if len(rows) < 2:
        raise NoImagesError(
            f"collection {collection_name!r} holds {len(rows)} image(s); at least 2 are needed. "
            f"Add some with `pixclass ingest SOURCE --collection {collection_name}`"
        )
    infos = [ImageInfo(width=r.width, height=r.height, mode=r.mode, format=r.format) for r in rows]
    target_mode: DecodeMode = auto_mode(infos) if checked_mode == "auto" else checked_mode
    target_size = (
        auto_size((i.height, i.width) for i in infos) if checked_size == "auto" else checked_size
    )
    ids = [r.id for r in rows]
    pixels, failures = _decode(store, ids, target_mode, target_size, n_jobs, report(progress))
    keep = [i for i, reason in enumerate(failures) if reason is None]
    skipped = [SkippedImage(rows[i].file_name, r) for i, r in enumerate(failures) if r is not None]
    known = [r.known_label for r in rows]
    labels, class_names = None, None
    if any(label is not None for label in known):
        class_names = sorted_class_names([label for label in known if label is not None])
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index.get(known[i] or "", -1) for i in keep], dtype=np.int64)
    imageset = ImageSet(
        images=pixels if len(keep) == len(ids) else pixels[keep],
        names=[rows[i].file_name for i in keep],
        labels=labels,
        class_names=class_names,
        skipped=skipped,
        source=f"collection {collection_name}",
    )
    return StoredImageSet(imageset, [ids[i] for i in keep])


def _decode(
    store: Store,
    ids: list[int],
    mode: DecodeMode,
    size: tuple[int, int],
    n_jobs: int,
    progress: ProgressCallback,
) -> tuple[np.ndarray, list[str | None]]:
    channels = (3,) if mode == "RGB" else ()
    pixels = np.zeros((len(ids), *size, *channels), dtype=np.uint8)
    failures: list[str | None] = [None] * len(ids)
    position = {image_id: i for i, image_id in enumerate(ids)}

    def work(chunk: list[tuple[int, bytes]]) -> None:
        for image_id, data in chunk:
            row = position[image_id]
            try:
                pixels[row] = decode_bytes(data, mode=mode, size=size)
            except ImageReadError as exc:
                failures[row] = exc.reason

    done = 0
    progress("decode", 0, len(ids))
    with bomb_warnings_as_errors(), ThreadPoolExecutor(max(1, n_jobs)) as pool:
        # Fetching (main thread) overlaps decoding (pool); at most a few chunks wait in memory.
        pending = []
        for chunk in iter_image_bytes(store, ids, chunk=FETCH_CHUNK):
            pending.append((pool.submit(work, chunk), len(chunk)))
            while len(pending) > 2 * max(1, n_jobs):
                future, count = pending.pop(0)
                future.result()
                done += count
                progress("decode", done, len(ids))
        for future, count in pending:
            future.result()
            done += count
            progress("decode", done, len(ids))
    return pixels, failures
