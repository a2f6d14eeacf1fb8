"""The log of a person's corrections: each one an event with the state it changed before and
after, written in the transaction of the correction itself, so that it can be undone exactly.

What an event keeps (JSON): ``assignments``, the touched assignments as ``[image_id, cluster,
confidence, set_by_person, updated_at]`` (``cluster`` etc. None and ``absent`` true for an image
the run held no assignment for), ``clusters``, the touched classes as ``[index, name,
representative_image_id]``, and in ``after`` the classes a split ``created``. Undoing writes the
``before`` state back, removes what the correction created, and recounts the class sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from pixclass.errors import InputError, NotFoundError
from pixclass.store.blobs import chunks
from pixclass.store.db import Store
from pixclass.store.runs import run_row
from pixclass.store.schema import CORRECTION_KINDS, Assignment, Cluster, Correction, utcnow


@dataclass(frozen=True)
class CorrectionEvent:
    """One logged correction, as people read it."""

    id: int
    run_id: int
    who: str
    at: datetime
    kind: str
    summary: str
    n_images: int
    undone: bool


def snapshot(
    session: Session, run_id: int, image_ids: Iterable[int], clusters: Iterable[int]
) -> dict[str, Any]:
    """The state of ``image_ids``' assignments and of the classes ``clusters`` in a run."""
    ids = list(dict.fromkeys(int(i) for i in image_ids))
    found: dict[int, list[Any]] = {}
    for part in chunks(ids):
        rows = session.execute(
            select(
                Assignment.image_id,
                Assignment.cluster,
                Assignment.confidence,
                Assignment.set_by_person,
                Assignment.updated_at,
            ).where(Assignment.run_id == run_id, Assignment.image_id.in_(part))
        )
        for image_id, cluster, confidence, person, updated_at in rows:
            found[image_id] = [image_id, cluster, confidence, bool(person), updated_at.isoformat()]
    assignments = [found.get(i, [i, None, None, None, None]) for i in ids]
    indices = sorted({int(c) for c in clusters})
    classes = session.execute(
        select(Cluster.index, Cluster.name, Cluster.representative_image_id)
        .where(Cluster.run_id == run_id, Cluster.index.in_(indices))
        .order_by(Cluster.index)
    )
    return {
        "assignments": assignments,
        "absent": [i for i in ids if i not in found],
        "clusters": [[index, name, rep] for index, name, rep in classes],
    }


def record(
    session: Session,
    run_id: int,
    *,
    who: str,
    kind: str,
    summary: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> int:
    """Log a correction made in ``session`` (the same transaction); returns the event id."""
    if kind not in CORRECTION_KINDS:
        raise ValueError(f"unknown correction kind {kind!r}")
    event = Correction(
        run_id=run_id,
        who=(who or "someone")[:200],
        at=utcnow(),
        kind=kind,
        summary=summary,
        before=before,
        after=after,
    )
    session.add(event)
    session.flush()
    return int(event.id)


def list_corrections(store: Store, run_id: int, *, limit: int = 100) -> list[CorrectionEvent]:
    """A run's corrections, newest first."""
    with store.session() as session:
        run_row(session, run_id)
        rows = session.scalars(
            select(Correction)
            .where(Correction.run_id == run_id)
            .order_by(Correction.id.desc())
            .limit(limit)
        )
        return [_event(row) for row in rows]


def undo_last(store: Store, run_id: int) -> CorrectionEvent:
    """Undo the newest correction of a run not undone yet; returns it (now marked undone)."""
    with store.write() as session:
        run_row(session, run_id)
        event = session.scalars(
            select(Correction)
            .where(Correction.run_id == run_id, Correction.undone_at.is_(None))
            .order_by(Correction.id.desc())
            .limit(1)
        ).first()
        if event is None:
            raise NotFoundError(f"run {run_id} has no correction left to undo")
        _restore(session, run_id, event.before, event.after)
        event.undone_at = utcnow()
        session.flush()
        return _event(event)


def _restore(session: Session, run_id: int, before: dict[str, Any], after: dict[str, Any]) -> None:
    absent = [int(i) for i in before.get("absent", [])]
    for part in chunks(absent):
        session.execute(
            delete(Assignment).where(Assignment.run_id == run_id, Assignment.image_id.in_(part))
        )
    rows = [
        {
            "run_id": run_id,
            "image_id": image_id,
            "cluster": cluster,
            "confidence": confidence,
            "set_by_person": person,
            "updated_at": datetime.fromisoformat(updated_at),
        }
        for image_id, cluster, confidence, person, updated_at in before.get("assignments", [])
        if updated_at is not None
    ]
    if rows:  # ORM bulk UPDATE by primary key: one executemany
        session.execute(update(Assignment), rows)
    for index, name, representative in before.get("clusters", []):
        session.execute(
            update(Cluster)
            .where(Cluster.run_id == run_id, Cluster.index == index)
            .values(name=name, representative_image_id=representative)
        )
    created = [int(i) for i in after.get("created", [])]
    if created:
        in_created = session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.run_id == run_id, Assignment.cluster.in_(created))
        )
        if in_created:
            # Later work (a classification) put images in a class the split made; deleting
            # the class would delete their assignments with it.
            raise InputError(
                f"cannot undo this split: {in_created} image(s) were put in its new classes since"
            )
        session.execute(delete(Cluster).where(Cluster.run_id == run_id, Cluster.index.in_(created)))
    recount_sizes(session, run_id)


def recount_sizes(session: Session, run_id: int) -> None:
    """Set every class size of a run to the number of images assigned to it."""
    counts = dict(
        session.execute(
            select(Assignment.cluster, func.count())
            .where(Assignment.run_id == run_id, Assignment.cluster.is_not(None))
            .group_by(Assignment.cluster)
        ).all()
    )
    for index in session.scalars(select(Cluster.index).where(Cluster.run_id == run_id)):
        session.execute(
            update(Cluster)
            .where(Cluster.run_id == run_id, Cluster.index == index)
            .values(size=int(counts.get(index, 0)))
        )


def person_placed(store: Store, run_id: int) -> dict[int, int]:
    """Image id -> class of every image a person placed (moved or confirmed) in a run."""
    with store.session() as session:
        run_row(session, run_id)
        rows = session.execute(
            select(Assignment.image_id, Assignment.cluster).where(
                Assignment.run_id == run_id,
                Assignment.set_by_person.is_(True),
                Assignment.cluster.is_not(None),
            )
        )
        return {int(i): int(c) for i, c in rows if c is not None}


def _event(row: Correction) -> CorrectionEvent:
    return CorrectionEvent(
        id=int(row.id),
        run_id=int(row.run_id),
        who=row.who,
        at=row.at,
        kind=row.kind,
        summary=row.summary,
        n_images=len(row.before.get("assignments", [])),
        undone=row.undone_at is not None,
    )


def touched_clusters(rows: Sequence[list[Any]]) -> set[int]:
    """The classes the snapshot's assignments were in."""
    return {int(r[1]) for r in rows if r[1] is not None}
