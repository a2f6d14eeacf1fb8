"""Classify new images with a collection's current model and store them in that run.

The current model is the one of the newest finished run. Images the run already holds keep
their assignment; the others are decoded from their stored bytes the way the model's images
were (colour mode, size), predicted (class -1: unlike every class, shown as "unknown"), and added
to the run with their confidence, so that the run's pages, exports and counts include them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from pixclass.config import Settings
from pixclass.errors import InputError, NotFoundError
from pixclass.io.decode import ImageReadError, bomb_guard
from pixclass.progress import ProgressCallback, report
from pixclass.services.ingest import Entry, ingest
from pixclass.services.models import loaded_run
from pixclass.store.assignments import (
    CHUNK,
    LOW_CONFIDENCE,
    add_assignments,
    checked_image_ids,
    class_names,
    current_model_run,
    held_assignments,
)
from pixclass.store.browse import classes_of, collection_by_id, latest_done_run_id
from pixclass.store.collections import CollectionInfo, find_collection_id
from pixclass.store.db import Store
from pixclass.store.images import iter_image_bytes
from pixclass.store.results import UNKNOWN, load_model_bytes
from pixclass.store.runs import get_run

if TYPE_CHECKING:
    from pixclass.cluster import Model

__all__ = ["LOW_CONFIDENCE", "UNKNOWN", "ClassifyReport", "CurrentModel", "NoModelError"]


class NoModelError(NotFoundError):
    """The collection has no finished run whose model could classify images."""


@dataclass(frozen=True)
class CurrentModel:
    """The model of a collection's newest finished run, loaded once for many classifications."""

    run_id: int
    model: Model
    class_names: dict[int, str]


@dataclass
class ClassifyReport:
    """What a classification did.

    Attributes
    ----------
    run_id : int
        The run whose model classified the images, and which now holds them.
    classified : int
        Images assigned now.
    already : int
        Images the run held before (their assignment is kept and counted).
    counts : dict of str to int
        Class name (a person's name, ``cluster-N`` or ``unknown``) -> images, both kinds.
    n_low_confidence : int
        Of those, images with a confidence below ``LOW_CONFIDENCE``.
    classes : dict of int to (str, float)
        Image id -> (class name, confidence).
    skipped : list of (int, str)
        Images that could not be decoded, and why.
    """

    collection: str
    run_id: int
    classified: int = 0
    already: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    n_low_confidence: int = 0
    classes: dict[int, tuple[str, float]] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.classified + self.already


def load_current_model(store: Store, collection: str) -> CurrentModel:
    """The model of the collection's newest finished run; ``NoModelError`` when there is none."""
    from pixclass.cluster import Model  # heavy (umap, numba): only when classifying

    run_id = current_model_run(store, find_collection_id(store, collection))
    if run_id is None:
        raise NoModelError(
            f"collection {collection!r} has no finished run to classify with yet; cluster it "
            f"first: `pixclass cluster --collection {collection}`"
        )
    model = Model.from_bytes(load_model_bytes(store, run_id), source=f"the model of run {run_id}")
    return CurrentModel(run_id, model, class_names(store, run_id))


def classify_images(
    store: Store,
    collection: str,
    image_ids: Sequence[int] | None = None,
    *,
    current: CurrentModel | None = None,
    progress: ProgressCallback | None = None,
) -> ClassifyReport:
    """Classify images of ``collection`` with its current model and add them to that run.

    Parameters
    ----------
    store : Store
    collection : str
    image_ids : sequence of int, optional
        Images of the collection; default: every image the current run does not hold yet.
    current : CurrentModel, optional
        The model, when the caller keeps it loaded (``load_current_model``); default: load it.
    progress : callable, optional
        Called as ``progress("classify", done, total)``.

    Raises
    ------
    NoModelError
        The collection has no finished run yet.
    InputError
        An image id is not in the collection.
    """
    current = current or load_current_model(store, collection)
    ids = checked_image_ids(store, collection, image_ids, current.run_id)
    found = ClassifyReport(collection=collection, run_id=current.run_id)
    held = held_assignments(store, current.run_id, ids)
    for image_id, (cluster, held_confidence) in held.items():
        _count(found, current, image_id, cluster, held_confidence)
    found.already = len(held)
    todo = [i for i in ids if i not in held]
    tell = report(progress)
    tell("classify", 0, len(todo))
    done = 0
    with bomb_guard():
        for chunk in iter_image_bytes(store, todo, chunk=CHUNK):
            rows, arrays = _decode(chunk, current.model, found)
            if rows:
                labels, confidences = current.model.predict(np.stack(arrays))
                added = add_assignments(store, current.run_id, rows, labels, confidences)
                for image_id, cluster, confidence in added:
                    _count(found, current, image_id, cluster, confidence)
                found.classified += len(added)
            done += len(chunk)
            tell("classify", done, len(todo))
    return found


def _decode(
    chunk: list[tuple[int, bytes]], model: Model, found: ClassifyReport
) -> tuple[list[int], list[np.ndarray]]:
    rows, arrays = [], []
    for image_id, data in chunk:
        try:
            arrays.append(model.decode(data))
            rows.append(image_id)
        except ImageReadError as exc:
            found.skipped.append((image_id, exc.reason))
    return rows, arrays


def _count(
    found: ClassifyReport,
    current: CurrentModel,
    image_id: int,
    cluster: int | None,
    confidence: float,
) -> None:
    name = UNKNOWN if cluster is None else current.class_names.get(cluster, f"cluster-{cluster}")
    found.counts[name] = found.counts.get(name, 0) + 1
    found.classes[image_id] = (name, float(confidence))
    if confidence < LOW_CONFIDENCE:
        found.n_low_confidence += 1


@dataclass(frozen=True)
class Classified:
    """One uploaded file: the image it became and its class, or why it could not be used."""

    name: str
    image_id: int | None
    new: bool
    class_name: str | None  # None: unknown (unlike every class) or skipped
    cluster: int | None
    confidence: float
    set_by_person: bool
    reason: str | None


def classify_target(
    store: Store, collection_id: int, run_id: int | None
) -> tuple[CollectionInfo, int]:
    """The collection and the run whose model classifies (default: its newest finished run)."""
    collection = collection_by_id(store, collection_id)
    if run_id is not None:
        if get_run(store, run_id).collection != collection.name:
            raise InputError(f"run {run_id} is not a run of collection {collection.name!r}")
        return collection, run_id
    latest = latest_done_run_id(store, collection_id)
    if latest is None:
        raise NotFoundError(
            f"collection {collection.name!r} has no finished run yet: start a run first, "
            "then classify new images with its classes"
        )
    return collection, latest


def classify_files(
    store: Store,
    collection: str,
    run_id: int,
    files: Sequence[Entry],
    settings: Settings | None = None,
) -> list[Classified]:
    """Add files to a collection and give each the class the run's model predicts.

    ``files`` are (name, bytes or path) as ``ingest`` takes them. Images the run
    classified already (or a person did) keep that class and report it.
    """
    loaded = loaded_run(store, run_id)
    added = ingest(store, files, collection, settings=settings)
    usable = sorted(set(added.image_ids.values()))
    reasons: dict[int, str] = {}
    if usable:
        current = CurrentModel(run_id, loaded.model, class_names(store, run_id))
        reasons = dict(classify_images(store, collection, usable, current=current).skipped)
    classes = classes_of(store, run_id, usable)
    unread = {item.path: item.reason for item in added.skipped}
    out = []
    for name, _ in files:
        image_id = added.image_ids.get(name)
        known = classes.get(image_id) if image_id is not None else None
        out.append(
            Classified(
                name=name,
                image_id=image_id,
                new=name in added.new_names,
                class_name=known.class_name if known and known.cluster is not None else None,
                cluster=known.cluster if known else None,
                confidence=known.confidence if known else 0.0,
                set_by_person=bool(known and known.set_by_person),
                reason=unread.get(name) or reasons.get(image_id or 0),
            )
        )
    return out
