"""Re-cut a stored run into more or fewer classes: a new run in seconds, nothing embedded again.

The new run keeps the images, their map positions and the features of the run it comes from;
only the clustering of the stored embedding is redone (``pixclass.cluster.recut``). A person's
work carries over: corrections are kept per image and class name for the whole collection, and
each named class of the old run gives its name to the new class that holds most of its images.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixclass.cluster.discover import representatives
from pixclass.cluster.model import Model
from pixclass.cluster.recut import check_recut_k, counts_text, neighbour_counts, recut
from pixclass.errors import InputError
from pixclass.jsonable import jsonable
from pixclass.services.models import LoadedRun, loaded_run
from pixclass.services.runs import class_cards
from pixclass.store.db import Store
from pixclass.store.results import (
    ImageClass,
    RunResult,
    effective_classes,
    list_clusters,
    rename_cluster,
    save_result,
)
from pixclass.store.runs import create_run, fail_run, get_run, start_run


@dataclass(frozen=True)
class Granularity:
    """What the classes page says about the count and where its fewer/more buttons cut to."""

    text: str  # "10 classes; 6 and 14 also fit"
    fewer: int | None
    more: int | None


def granularity(store: Store, run_id: int, n_classes: int) -> Granularity | None:
    """For a finished run now showing ``n_classes`` classes; None when it cannot be re-cut."""
    run = get_run(store, run_id)
    if run.status != "done" or run.n_images < 2:
        return None
    others = [int(k) for k in run.metrics.get("plausible_counts", []) if int(k) != n_classes]
    fewer, more = neighbour_counts(n_classes, others, run.n_images)
    return Granularity(counts_text(n_classes, others), fewer, more)


def recut_run(store: Store, run_id: int, k: object, *, seed: int | None = 0) -> int:
    """Make a new run of ``run_id``'s collection with its images cut into ``k`` classes."""
    old = get_run(store, run_id)
    if old.status != "done":
        raise InputError(f"run {run_id} is {old.status}; only a finished run can be re-cut")
    started = time.perf_counter()
    loaded = loaded_run(store, run_id)
    n_clusters = check_recut_k(k, len(loaded.training_ids))
    model = recut(loaded.model, n_clusters, random_state=seed)
    shown = effective_classes(store, run_id)
    ids = [row.image_id for row in shown]
    labels, confidence = _classes(store, loaded, model, ids)
    params = {**old.params, "n_clusters": n_clusters, "recut_of": run_id}
    new_id = create_run(store, old.collection, features=old.features, params=jsonable(params))
    try:
        start_run(store, new_id)
        xy = np.array([[row.x or 0.0, row.y or 0.0] for row in shown], dtype=np.float32)
        has_map = all(row.x is not None for row in shown)
        result = RunResult(
            image_ids=ids,
            labels=labels,
            confidence=confidence,
            embedding_2d=xy if has_map else None,
            representatives=representatives(labels, confidence, 16),
            n_clusters=n_clusters,
            params=jsonable(params),
            timings={"recut": time.perf_counter() - started},
            metrics=_metrics(labels, confidence, old.metrics, _shown_count(store, run_id)),
            model=model.to_bytes(),
        )
        save_result(store, new_id, result)
        _carry_names(store, run_id, new_id, shown, labels)
    except BaseException as exc:
        fail_run(store, new_id, f"re-cut failed: {exc}")
        raise
    return new_id


def _classes(
    store: Store, loaded: LoadedRun, model: Model, ids: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The new classes of every image of the old run: training rows keep the re-cut's labels,
    images classified later are asked of the new model."""
    training = {int(i): row for row, i in enumerate(loaded.training_ids)}
    labels = np.full(len(ids), -1, np.int64)
    confidence = np.zeros(len(ids), np.float32)
    later = [n for n, image_id in enumerate(ids) if image_id not in training]
    for n, image_id in enumerate(ids):
        row = training.get(image_id)
        if row is not None:
            labels[n] = model.clusterer.labels_[row]
            confidence[n] = model.clusterer.confidence_[row]
    if later:
        rows = loaded.rows_for(store, [ids[n] for n in later])
        got, conf = model.clusterer.predictor_.predict(rows)
        labels[later], confidence[later] = got, conf
    return labels, confidence


def _shown_count(store: Store, run_id: int) -> int:
    """The classes the run held when it was re-cut, after the person's merges and splits (as
    its classes page counts them)."""
    return len([c for c in class_cards(store, run_id, samples=0) if c.size > 0])


def _metrics(
    labels: np.ndarray, confidence: np.ndarray, old: dict[str, Any], cut_from: int
) -> dict[str, Any]:
    n_clusters = int(len(np.unique(labels[labels >= 0])))
    return {
        "n_images": len(labels),
        "n_clusters": n_clusters,
        "n_unknown": int((labels < 0).sum()),
        "mean_confidence": float(confidence.mean()) if len(confidence) else 0.0,
        "n_skipped": old.get("n_skipped", 0),
        # The count the run was cut from stays one a person may want back.
        "plausible_counts": sorted({*old.get("plausible_counts", []), cut_from} - {n_clusters, 0}),
    }


def _carry_names(
    store: Store, old_id: int, new_id: int, shown: list[ImageClass], labels: np.ndarray
) -> None:
    """Each named class of the old run names the new class holding most of its images (the
    largest old class first, so that two old classes never claim one new class)."""
    named = {c.index: c for c in list_clusters(store, old_id) if c.name}
    taken: set[int] = set()
    for index in sorted(named, key=lambda i: (-named[i].size, i)):
        votes = Counter(
            int(labels[n]) for n, row in enumerate(shown) if row.cluster == index and labels[n] >= 0
        )
        free = [(count, -new) for new, count in votes.items() if new not in taken]
        if free:
            new = -max(free)[1]
            taken.add(new)
            rename_cluster(store, new_id, new, str(named[index].name))
