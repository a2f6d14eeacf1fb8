"""Read queries for the map: where each image of a run lies, and which images each class holds.

A run's positions are written once, when the run is saved, and never change; its classes change
with every correction. So the map reads them apart: ``map_positions`` (the 70,000-row read a
caller may keep for a finished run, under ``map_key``) and ``class_members`` (one short row per
class, the image ids packed into one string by the database, several times cheaper to read than a
row per image).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import String, cast, func, select

from pixclass.store.db import Store
from pixclass.store.runs import run_row
from pixclass.store.schema import Assignment

# The class of a position whose image the run no longer holds (its collection lost it).
NOT_IN_RUN = -2


@dataclass(frozen=True)
class MapPoints:
    """Every image of a run with its map position and class, as parallel arrays."""

    image_ids: np.ndarray  # int64
    x: np.ndarray  # float32
    y: np.ndarray  # float32
    cluster: np.ndarray  # int32, -1: unknown (no class)


@dataclass(frozen=True)
class MapPositions:
    """The images of a run that have a map position, in id order, and where they lie."""

    image_ids: np.ndarray  # int64, ascending
    x: np.ndarray  # float32
    y: np.ndarray  # float32


def map_key(store: Store, run_id: int) -> tuple[int, datetime] | None:
    """What a finished run's positions may be kept under: its id and when it was made (an id
    can come back after its collection was deleted); None while the run is not finished."""
    with store.session() as session:
        run = run_row(session, run_id)
        return (run.id, run.created_at) if run.status == "done" else None


def map_positions(store: Store, run_id: int) -> MapPositions:
    """Every image of a run that has a map position (those classified later have none)."""
    with store.session() as session:
        run_row(session, run_id)
        # Through the connection, not the ORM session: for 70,000 rows the ORM's result
        # machinery costs more than the query.
        rows = (
            session.connection()
            .execute(
                select(Assignment.image_id, Assignment.x, Assignment.y)
                .where(Assignment.run_id == run_id, Assignment.x.is_not(None))
                .order_by(Assignment.image_id)
            )
            .all()
        )
    if not rows:
        empty = np.zeros(0, np.float32)
        return MapPositions(np.zeros(0, np.int64), empty, empty)
    ids, xs, ys = zip(*rows, strict=True)
    return MapPositions(
        image_ids=np.asarray(ids, dtype=np.int64),
        x=np.asarray(xs, dtype=np.float32),
        y=np.asarray(ys, dtype=np.float32),
    )


def class_members(store: Store, run_id: int) -> dict[int, np.ndarray]:
    """The ids of the images of each class of a run (-1: unknown), in no particular order.

    One row per class from the class index (``ix_assignments_class``), its ids joined into one
    string by the database (``group_concat`` / ``string_agg``) and parsed by numpy.
    """
    members = func.aggregate_strings(cast(Assignment.image_id, String), ",")
    with store.session() as session:
        run_row(session, run_id)
        rows = session.execute(
            select(Assignment.cluster, members)
            .where(Assignment.run_id == run_id)
            .group_by(Assignment.cluster)
        ).all()
    out = {}
    for cluster, joined in rows:
        ids = np.fromstring(joined or "", dtype=np.int64, sep=",")
        out[-1 if cluster is None else int(cluster)] = ids
    return out


def map_points(store: Store, run_id: int) -> MapPoints:
    """Every image of a run that has a map position, with its class (-1: unknown), read now."""
    return join_classes(map_positions(store, run_id), class_members(store, run_id))


def join_classes(positions: MapPositions, members: dict[int, np.ndarray]) -> MapPoints:
    """The points of ``positions`` whose image the run still classifies, with their classes."""
    ids = positions.image_ids
    cluster = np.full(len(ids), NOT_IN_RUN, dtype=np.int32)
    for index, member_ids in members.items():
        at = np.minimum(np.searchsorted(ids, member_ids), max(len(ids) - 1, 0))
        if len(ids):
            found = ids[at] == member_ids  # images classified later have no position
            cluster[at[found]] = index
    kept = cluster != NOT_IN_RUN
    return MapPoints(ids[kept], positions.x[kept], positions.y[kept], cluster[kept])
