"""Classify new images with a collection's current model and store them in that run.

The current model is the one of the newest finished run. Images the run already holds keep
their assignment; the others are decoded from their stored bytes the way the model's images
were (colour mode, size), predicted (class -1: unlike every class, shown as "unknown"), and added
to the run with their confidence, so that the run's pages, exports and counts include them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pixclass.errors import InputError, NotFoundError
from pixclass.io.decode import DecodeMode, ImageReadError, bomb_warnings_as_errors, decode_bytes
from pixclass.progress import ProgressCallback, report
from pixclass.store.collections import collection_id
from pixclass.store.db import Store
from pixclass.store.images import iter_image_bytes
from pixclass.store.results import display_name, load_model_bytes
from pixclass.store.schema import Assignment, Cluster, Image, Run, RunModel, utcnow

if TYPE_CHECKING:
    from pixclass.cluster import Model

# Below this confidence an image's class is uncertain: it counts towards "review needed".
LOW_CONFIDENCE = 0.5
UNKNOWN = "unknown"
# Images decoded, predicted and written per step.
CHUNK = 1000


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


def current_model_run(store: Store, collection: str) -> int | None:
    """The newest finished run of a collection that saved a model, or None."""
    with store.session() as session:
        return _model_run(session, collection_id(session, collection))


def _model_run(session: Session, collection: int) -> int | None:
    return session.scalar(
        select(Run.id)
        .join(RunModel, RunModel.run_id == Run.id)
        .where(Run.collection_id == collection, Run.status == "done")
        .order_by(Run.id.desc())
        .limit(1)
    )


def load_current_model(store: Store, collection: str) -> CurrentModel:
    """The model of the collection's newest finished run; ``NoModelError`` when there is none."""
    from pixclass.cluster import Model  # heavy (umap, numba): only when classifying

    run_id = current_model_run(store, collection)
    if run_id is None:
        raise NoModelError(
            f"collection {collection!r} has no finished run to classify with yet; cluster it "
            f"first: `pixclass cluster --collection {collection}`"
        )
    model = Model.from_bytes(load_model_bytes(store, run_id), source=f"the model of run {run_id}")
    return CurrentModel(run_id, model, class_names(store, run_id))


def class_names(store: Store, run_id: int) -> dict[int, str]:
    """How each class of a run is shown: a person's name, else ``cluster-N``."""
    with store.session() as session:
        rows = session.execute(select(Cluster.index, Cluster.name).where(Cluster.run_id == run_id))
        return {int(index): display_name(index, name) for index, name in rows}


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
    ids = _checked_ids(store, collection, image_ids, current.run_id)
    found = ClassifyReport(collection=collection, run_id=current.run_id)
    held = _held(store, current.run_id, ids)
    for image_id, (cluster, held_confidence) in held.items():
        _count(found, current, image_id, cluster, held_confidence)
    found.already = len(held)
    todo = [i for i in ids if i not in held]
    tell = report(progress)
    tell("classify", 0, len(todo))
    done = 0
    with bomb_warnings_as_errors():
        for chunk in iter_image_bytes(store, todo, chunk=CHUNK):
            rows, arrays = _decode(chunk, current.model, found)
            if rows:
                labels, confidences = current.model.predict(np.stack(arrays))
                added = _store(store, current.run_id, rows, labels, confidences)
                for image_id, cluster, confidence in added:
                    _count(found, current, image_id, cluster, confidence)
                found.classified += len(added)
            done += len(chunk)
            tell("classify", done, len(todo))
    return found


def _checked_ids(
    store: Store, collection: str, image_ids: Sequence[int] | None, run_id: int
) -> list[int]:
    with store.session() as session:
        wanted = collection_id(session, collection)
        if image_ids is None:
            held = select(Assignment.image_id).where(Assignment.run_id == run_id)
            query = select(Image.id).where(Image.collection_id == wanted, Image.id.not_in(held))
            return list(session.scalars(query.order_by(Image.id)))
        ids = list(dict.fromkeys(int(i) for i in image_ids))
        known: set[int] = set()
        for part in _chunks(ids):
            query = select(Image.id).where(Image.collection_id == wanted, Image.id.in_(part))
            known.update(session.scalars(query))
    missing = [i for i in ids if i not in known]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InputError(f"image(s) {shown} are not in collection {collection!r}")
    return ids


def _held(store: Store, run_id: int, ids: list[int]) -> dict[int, tuple[int | None, float]]:
    """The images among ``ids`` that the run already holds: id -> (cluster, confidence)."""
    held: dict[int, tuple[int | None, float]] = {}
    with store.session() as session:
        for part in _chunks(ids):
            rows = session.execute(
                select(Assignment.image_id, Assignment.cluster, Assignment.confidence).where(
                    Assignment.run_id == run_id, Assignment.image_id.in_(part)
                )
            )
            held.update({image_id: (cluster, conf) for image_id, cluster, conf in rows})
    return held


def _decode(
    chunk: list[tuple[int, bytes]], model: Model, found: ClassifyReport
) -> tuple[list[int], list[np.ndarray]]:
    mode: DecodeMode = "RGB" if model.color_mode == "RGB" else "L"
    size = (int(model.image_size[0]), int(model.image_size[1]))
    rows, arrays = [], []
    for image_id, data in chunk:
        try:
            arrays.append(decode_bytes(data, mode=mode, size=size))
            rows.append(image_id)
        except ImageReadError as exc:
            found.skipped.append((image_id, exc.reason))
    return rows, arrays


def _store(
    store: Store, run_id: int, image_ids: list[int], labels: np.ndarray, confidence: np.ndarray
) -> list[tuple[int, int | None, float]]:
    """Insert the assignments the run does not hold yet; returns those inserted."""
    now = utcnow()
    rows = [
        {
            "run_id": run_id,
            "image_id": image_id,
            "cluster": int(label) if label >= 0 else None,
            "confidence": float(conf) if label >= 0 else 0.0,
            "set_by_person": False,
            "updated_at": now,
            "x": None,
            "y": None,
        }
        for image_id, label, conf in zip(image_ids, labels, confidence, strict=True)
    ]
    with store.write() as session:
        statement = _insert_new(session).returning(
            Assignment.image_id, Assignment.cluster, Assignment.confidence
        )
        added = [(int(i), c, float(f)) for i, c, f in session.execute(statement, rows)]
        sizes = Counter(cluster for _, cluster, _ in added if cluster is not None)
        for index, n in sizes.items():
            session.execute(
                update(Cluster)
                .where(Cluster.run_id == run_id, Cluster.index == index)
                .values(size=Cluster.size + n)
            )
    return added


def _insert_new(session: Session) -> Any:
    """INSERT into assignments that leaves rows already there alone (a concurrent classifier)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(Assignment).on_conflict_do_nothing(index_elements=["run_id", "image_id"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(Assignment).on_conflict_do_nothing(index_elements=["run_id", "image_id"])


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


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
