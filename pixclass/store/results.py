"""What runs found: clusters (named by people), assignments, map positions, and corrections.

A person's correction (``assign_image``) is an assignment with ``set_by_person`` set, in the run
it was made in. It outlives that run's display: when any run's result is shown or exported, an
image that a person assigned gets the class name of the cluster the person chose (the latest
correction wins), not the name of the cluster the newer run put it in. See
``effective_classes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from pixclass.errors import ConflictError, InputError, NotFoundError
from pixclass.store.correction_log import record, snapshot
from pixclass.store.db import Store
from pixclass.store.runs import latest_done_run, run_row
from pixclass.store.schema import Assignment, Cluster, Image, Run, RunModel, utcnow

# The one word people read for an image in no class (label -1), in the CLI, the API and pages.
UNKNOWN = "unknown"


def display_name(index: int | None, name: str | None) -> str:
    """How a cluster is shown: the name a person gave it, else ``cluster-N``."""
    if name:
        return name
    return UNKNOWN if index is None else f"cluster-{index}"


@dataclass(frozen=True)
class ClusterInfo:
    index: int
    name: str | None
    display_name: str
    size: int
    representative_image_id: int | None


@dataclass(frozen=True)
class ImageClass:
    """The class an image is shown in for one run."""

    image_id: int
    cluster: int | None  # where the run put it (or the person, in this run)
    class_name: str  # the person's class when there is one, else the run's cluster name
    confidence: float
    set_by_person: bool
    x: float | None
    y: float | None


@dataclass(frozen=True)
class RunResult:
    """Everything a run produced, for storing in one transaction."""

    image_ids: Sequence[int]
    labels: np.ndarray
    confidence: np.ndarray
    embedding_2d: np.ndarray | None
    representatives: Mapping[int, Sequence[int]]  # cluster -> row indices into image_ids
    n_clusters: int
    params: dict[str, Any]
    timings: dict[str, float]
    metrics: dict[str, Any]
    model: bytes | None
    # Images a person placed, carried into a new run (learning); None: none.
    set_by_person: np.ndarray | None = None


def save_result(store: Store, run_id: int, result: RunResult) -> None:
    """Store clusters, assignments, map positions and model, and mark the run done."""
    labels = np.asarray(result.labels).astype(int)
    ids = [int(i) for i in result.image_ids]
    if len(labels) != len(ids) or len(result.confidence) != len(ids):
        raise ValueError("labels, confidence and image_ids must have the same length")
    with store.write() as session:
        run_row(session, run_id)
        session.execute(insert(Cluster), _cluster_rows(run_id, labels, ids, result))
        now = utcnow()
        xy = result.embedding_2d
        person = result.set_by_person
        rows = [
            {
                "run_id": run_id,
                "image_id": image_id,
                "cluster": int(labels[i]) if labels[i] >= 0 else None,
                "confidence": float(result.confidence[i]),
                "set_by_person": bool(person[i]) if person is not None else False,
                "updated_at": now,
                "x": float(xy[i, 0]) if xy is not None else None,
                "y": float(xy[i, 1]) if xy is not None else None,
            }
            for i, image_id in enumerate(ids)
        ]
        if rows:
            session.execute(insert(Assignment), rows)
        if result.model is not None:
            session.add(RunModel(run_id=run_id, data=result.model))
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                status="done",
                finished_at=now,
                n_clusters=result.n_clusters,
                params=result.params,
                timings=result.timings,
                metrics=result.metrics,
                error=None,
            )
        )


def _cluster_rows(
    run_id: int, labels: np.ndarray, ids: list[int], result: RunResult
) -> list[dict[str, Any]]:
    found = {int(label) for label in labels if label >= 0}
    indices = sorted(found | set(range(result.n_clusters)))
    sizes = np.bincount(labels[labels >= 0], minlength=max(indices, default=-1) + 1)
    rows = []
    for index in indices:
        members = list(result.representatives.get(index, ()))
        rows.append(
            {
                "run_id": run_id,
                "index": index,
                "name": None,
                "size": int(sizes[index]) if index < len(sizes) else 0,
                "representative_image_id": ids[int(members[0])] if members else None,
            }
        )
    return rows


def list_clusters(store: Store, run_id: int) -> list[ClusterInfo]:
    """The clusters of a run, by index."""
    with store.session() as session:
        run_row(session, run_id)
        clusters = session.scalars(
            select(Cluster).where(Cluster.run_id == run_id).order_by(Cluster.index)
        )
        return [cluster_info(c) for c in clusters]


def cluster_info(cluster: Cluster) -> ClusterInfo:
    return ClusterInfo(
        index=cluster.index,
        name=cluster.name,
        display_name=display_name(cluster.index, cluster.name),
        size=cluster.size,
        representative_image_id=cluster.representative_image_id,
    )


def find_cluster(session: Session, run_id: int, cluster: str | int) -> Cluster:
    """A cluster of a run by index (``3``), display name (``cluster-3``) or given name."""
    clusters = list(session.scalars(select(Cluster).where(Cluster.run_id == run_id)))
    text = str(cluster).strip()
    for c in clusters:
        if text in (str(c.index), display_name(c.index, None)) or (c.name and c.name == text):
            return c
    known = ", ".join(display_name(c.index, c.name) for c in sorted(clusters, key=_by_index))
    raise NotFoundError(f"run {run_id} has no class {text!r} (classes: {known or 'none'})")


def cluster_index(store: Store, run_id: int, cluster: str | int) -> int:
    """The index of a class of a run given by index, display name or given name."""
    with store.session() as session:
        return find_cluster(session, run_id, cluster).index


def _by_index(cluster: Cluster) -> int:
    return cluster.index


def set_cluster_names(store: Store, run_id: int, names: Mapping[int, str]) -> None:
    """Name the classes of a run being made (names carried over from the run it comes from).

    Not a correction (nothing to undo): the new run starts with these names.
    """
    with store.write() as session:
        run_row(session, run_id)
        for index, name in names.items():
            session.execute(
                update(Cluster)
                .where(Cluster.run_id == run_id, Cluster.index == int(index))
                .values(name=name)
            )


def rename_cluster(
    store: Store, run_id: int, cluster: str | int, name: str, *, who: str = ""
) -> ClusterInfo:
    """Give a cluster a name (an empty name goes back to ``cluster-N``).

    Names are unique within a run (an export makes one folder per name): a name another class
    has, or shows as (``cluster-4``), is refused with a ``ConflictError`` naming that class.
    """
    cleaned = name.strip()
    if len(cleaned) > 200:
        raise InputError("a cluster name can have at most 200 characters")
    with store.write() as session:
        run_row(session, run_id)
        found = find_cluster(session, run_id, cluster)
        if cleaned:
            _check_name_free(session, run_id, found.index, cleaned)
        before = snapshot(session, run_id, [], {found.index})
        old = display_name(found.index, found.name)
        found.name = cleaned or None
        session.flush()
        after = snapshot(session, run_id, [], {found.index})
        new = display_name(found.index, found.name)
        summary = f"renamed {old} to {new}"
        record(session, run_id, who=who, kind="rename", summary=summary, before=before, after=after)
        return cluster_info(found)


def _check_name_free(session: Session, run_id: int, index: int, name: str) -> None:
    for other in session.scalars(
        select(Cluster).where(Cluster.run_id == run_id, Cluster.index != index)
    ):
        if name in (other.name, display_name(other.index, None)):
            raise ConflictError(
                f"class {other.index} ({display_name(other.index, other.name)}) of run "
                f"{run_id} already has the name {name!r}; choose another name or rename that "
                "class first"
            )


def assign_image(
    store: Store, image_id: int, cluster: str | int, *, run_id: int | None = None, who: str = ""
) -> tuple[int, ClusterInfo]:
    """A person's correction: put an image in a cluster of a run (default: the newest done run).

    Returns the run id and the cluster. The assignment is marked ``set_by_person`` and wins over
    every run's own result when classes are shown (``effective_classes``).
    """
    with store.write() as session:
        image = session.get(Image, image_id)
        if image is None:
            raise NotFoundError(f"no image with id {image_id}")
        if run_id is None:
            run_id = latest_done_run(session, image.collection_id)
            if run_id is None:
                raise NotFoundError(
                    f"the collection of image {image_id} has no finished run yet; cluster it first"
                )
        run = run_row(session, run_id)
        if run.collection_id != image.collection_id:
            raise InputError(f"image {image_id} is not in the collection of run {run_id}")
        target = find_cluster(session, run_id, cluster)
        row = session.get(Assignment, (run_id, image_id))
        was = None if row is None else row.cluster
        touched = {target.index} | ({was} if was is not None else set())
        before = snapshot(session, run_id, [image_id], touched)
        if row is None:
            row = Assignment(run_id=run_id, image_id=image_id, x=None, y=None)
            session.add(row)
        if was != target.index:  # keep the class sizes equal to their assignments
            _add_to_size(session, run_id, was, -1)
            _add_to_size(session, run_id, target.index, 1)
        row.cluster = target.index
        row.confidence = 1.0
        row.set_by_person = True
        row.updated_at = utcnow()
        session.flush()
        session.refresh(target)
        after = snapshot(session, run_id, [image_id], touched)
        summary = f"moved image {image_id} to {display_name(target.index, target.name)}"
        record(session, run_id, who=who, kind="move", summary=summary, before=before, after=after)
        return run_id, cluster_info(target)


def _add_to_size(session: Session, run_id: int, index: int | None, n: int) -> None:
    if index is not None:
        session.execute(
            update(Cluster)
            .where(Cluster.run_id == run_id, Cluster.index == index)
            .values(size=Cluster.size + n)
        )


@dataclass(frozen=True)
class _Correction:
    class_name: str
    updated_at: datetime


def _corrections(session: Session, collection: int) -> dict[int, _Correction]:
    """The latest person's class of each corrected image of a collection."""
    rows = session.execute(
        select(Assignment.image_id, Assignment.cluster, Cluster.name, Assignment.updated_at)
        .join(Run, Run.id == Assignment.run_id)
        .outerjoin(
            Cluster, (Cluster.run_id == Assignment.run_id) & (Cluster.index == Assignment.cluster)
        )
        .where(Run.collection_id == collection, Assignment.set_by_person.is_(True))
    )
    latest: dict[int, _Correction] = {}
    for image_id, cluster, name, updated_at in rows:
        current = latest.get(image_id)
        if current is None or updated_at >= current.updated_at:
            latest[image_id] = _Correction(display_name(cluster, name), updated_at)
    return latest


def effective_classes(store: Store, run_id: int) -> list[ImageClass]:
    """Each image of a run with the class to show: a person's correction wins over the run."""
    with store.session() as session:
        run = run_row(session, run_id)
        corrections = _corrections(session, run.collection_id)
        rows = session.execute(
            select(Assignment, Cluster.name)
            .outerjoin(
                Cluster,
                (Cluster.run_id == Assignment.run_id) & (Cluster.index == Assignment.cluster),
            )
            .where(Assignment.run_id == run_id)
            .order_by(Assignment.image_id)
        )
        result = []
        for assignment, name in rows:
            correction = corrections.get(assignment.image_id)
            result.append(
                ImageClass(
                    image_id=assignment.image_id,
                    cluster=assignment.cluster,
                    class_name=correction.class_name
                    if correction
                    else display_name(assignment.cluster, name),
                    confidence=assignment.confidence,
                    set_by_person=assignment.set_by_person or correction is not None,
                    x=assignment.x,
                    y=assignment.y,
                )
            )
        return result


def load_model_bytes(store: Store, run_id: int) -> bytes:
    """The saved model of a run (``Model.from_bytes`` reads it)."""
    with store.session() as session:
        run_row(session, run_id)
        model = session.get(RunModel, run_id)
        if model is None:
            raise NotFoundError(f"run {run_id} has no saved model (it did not finish)")
        return bytes(model.data)
