"""The assignments a classification adds to a run: which images it still lacks, which it holds,
and inserting new ones without overwriting a concurrent classifier's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pixclass.errors import InputError
from pixclass.store.collections import collection_id
from pixclass.store.db import Store
from pixclass.store.results import display_name
from pixclass.store.schema import Assignment, Cluster, Image, Run, RunModel, utcnow

# Below this confidence an image's class is uncertain: it counts towards "review needed".
LOW_CONFIDENCE = 0.5
# Image ids per query.
CHUNK = 1000


def current_model_run(store: Store, collection_id: int) -> int | None:
    """The newest finished run of a collection that saved a model, or None."""
    with store.session() as session:
        return _model_run(session, collection_id)


def _model_run(session: Session, collection: int) -> int | None:
    return session.scalar(
        select(Run.id)
        .join(RunModel, RunModel.run_id == Run.id)
        .where(Run.collection_id == collection, Run.status == "done")
        .order_by(Run.id.desc())
        .limit(1)
    )


def class_names(store: Store, run_id: int) -> dict[int, str]:
    """How each class of a run is shown: a person's name, else ``cluster-N``."""
    with store.session() as session:
        rows = session.execute(select(Cluster.index, Cluster.name).where(Cluster.run_id == run_id))
        return {int(index): display_name(index, name) for index, name in rows}


def checked_image_ids(
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


def held_assignments(
    store: Store, run_id: int, ids: list[int]
) -> dict[int, tuple[int | None, float]]:
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


def add_assignments(
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


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
