"""A person's corrections of a run, in bulk: move images, confirm them, merge and split classes.

A move or a confirm is a person's decision about each image: the assignment gets
``set_by_person`` (see ``results``), so it wins over any run's own result and survives reloads
and later runs. A merge or a split changes classes, not what anyone decided about an image: each
image keeps its confidence and its flag. Class sizes (``clusters.size``) are kept equal to the
number of images assigned to each class, and every correction is logged with the state before
and after (``correction_log``), all in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from pixclass.errors import InputError, NotFoundError
from pixclass.store.blobs import chunks
from pixclass.store.correction_log import record, snapshot, touched_clusters
from pixclass.store.db import Store
from pixclass.store.results import ClusterInfo, cluster_info, display_name, find_cluster
from pixclass.store.runs import run_row
from pixclass.store.schema import Assignment, Cluster, Image, utcnow

# A selection on the map can hold a whole collection; beyond this it is surely a mistake.
MAX_IMAGES_PER_CORRECTION = 200_000


def move_images(
    store: Store, run_id: int, image_ids: Sequence[int], cluster: str | int, *, who: str = ""
) -> tuple[ClusterInfo, int]:
    """Put images in a class of a run, as a person's decision; returns the class and the count.

    ``cluster`` is an index (``3``), a display name (``cluster-3``) or a given name. Images the
    run had not classified (added later) get an assignment too.
    """
    ids = _checked_ids(image_ids)
    with store.write() as session:
        run = run_row(session, run_id)
        target = find_cluster(session, run_id, cluster)
        _check_in_collection(session, ids, run.collection_id)
        before = _snapshot(session, run_id, ids, {target.index})
        moved = _assign(session, run_id, ids, target.index, person=True)
        session.flush()
        session.refresh(target)
        name = display_name(target.index, target.name)
        _log(session, run_id, who, "move", f"moved {moved} image(s) to {name}", before, ids)
        return cluster_info(target), moved


def confirm_images(store: Store, run_id: int, image_ids: Sequence[int], *, who: str = "") -> int:
    """A person confirms the class a run gave these images; returns how many were confirmed.

    Images without a class (unknown, or not classified by the run) are left alone.
    """
    ids = _checked_ids(image_ids)
    confirmed = 0
    with store.write() as session:
        run_row(session, run_id)
        before = _snapshot(session, run_id, ids, set())
        now = utcnow()
        for part in chunks(ids):
            result = session.execute(
                update(Assignment)
                .where(
                    Assignment.run_id == run_id,
                    Assignment.image_id.in_(part),
                    Assignment.cluster.is_not(None),
                )
                .values(set_by_person=True, confidence=1.0, updated_at=now)
            )
            confirmed += int(getattr(result, "rowcount", 0) or 0)
        if confirmed:
            summary = f"confirmed {confirmed} image(s)"
            _log(session, run_id, who, "confirm", summary, before, ids)
    return confirmed


def merge_clusters(
    store: Store, run_id: int, clusters: Sequence[str | int], into: str | int, *, who: str = ""
) -> ClusterInfo:
    """Move every image of ``clusters`` into ``into``; the merged classes are left empty.

    Each image keeps its confidence and whether a person placed it: a merge says the classes
    are one, not that anyone looked at each image. Empty classes are kept (their rows anchor the
    corrections made in them); the app hides them.
    """
    with store.write() as session:
        run_row(session, run_id)
        target = find_cluster(session, run_id, into)
        sources = {find_cluster(session, run_id, c).index for c in clusters} - {target.index}
        if not sources:
            raise InputError("choose at least one class to merge into another one")
        ids = list(
            session.scalars(
                select(Assignment.image_id).where(
                    Assignment.run_id == run_id, Assignment.cluster.in_(sorted(sources))
                )
            )
        )
        before = _snapshot(session, run_id, ids, {target.index, *sources})
        _assign(session, run_id, ids, target.index, person=None)
        session.flush()
        session.refresh(target)
        names = ", ".join(display_name(i, None) for i in sorted(sources))
        summary = f"merged {names} into {display_name(target.index, target.name)}"
        _log(session, run_id, who, "merge", summary, before, ids)
        return cluster_info(target)


def split_cluster(
    store: Store,
    run_id: int,
    cluster: str | int,
    parts: Sequence[Sequence[int]],
    *,
    who: str = "",
) -> list[ClusterInfo]:
    """Split a class: ``parts[0]`` stays in it, each further part becomes a new class.

    ``parts`` must cover the images of the class exactly; each part's first image becomes the
    representative of its new class. Like a merge, a split keeps each image's confidence and
    flag (the parts are the model's proposal, not a person's look at each image).
    """
    with store.write() as session:
        run_row(session, run_id)
        source = find_cluster(session, run_id, cluster)
        members = set(
            session.scalars(
                select(Assignment.image_id).where(
                    Assignment.run_id == run_id, Assignment.cluster == source.index
                )
            )
        )
        given = [int(i) for part in parts for i in part]
        if len(given) != len(set(given)) or set(given) != members:
            raise InputError(
                f"the parts of a split must hold each image of {source.name or source.index} once"
            )
        if len(parts) < 2 or any(len(part) == 0 for part in parts):
            raise InputError("a split needs at least two non-empty parts")
        top = session.scalar(select(func.max(Cluster.index)).where(Cluster.run_id == run_id))
        before = _snapshot(session, run_id, given, {source.index})
        created = []
        for offset, part in enumerate(parts[1:], start=1):
            index = int(top or 0) + offset
            session.execute(
                insert(Cluster).values(
                    run_id=run_id,
                    index=index,
                    name=None,
                    size=0,
                    representative_image_id=int(part[0]),
                )
            )
            _assign(session, run_id, [int(i) for i in part], index, person=None)
            created.append(index)
        session.flush()
        summary = (
            f"split {display_name(source.index, source.name)} into {len(parts)} parts "
            f"(new: {', '.join(display_name(i, None) for i in created)})"
        )
        _log(session, run_id, who, "split", summary, before, given, created=created)
        rows = session.scalars(
            select(Cluster)
            .where(Cluster.run_id == run_id, Cluster.index.in_([source.index, *created]))
            .order_by(Cluster.index)
        )
        return [cluster_info(row) for row in rows]


def _checked_ids(image_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in image_ids))
    if not ids:
        raise InputError("select at least one image")
    if len(ids) > MAX_IMAGES_PER_CORRECTION:
        raise InputError(f"at most {MAX_IMAGES_PER_CORRECTION} images can be changed at once")
    return ids


def _check_in_collection(session: Session, ids: list[int], collection_id: int) -> None:
    found = 0
    for part in chunks(ids):
        found += int(
            session.scalar(
                select(func.count())
                .select_from(Image)
                .where(Image.id.in_(part), Image.collection_id == collection_id)
            )
            or 0
        )
    if found != len(ids):
        raise NotFoundError(
            f"{len(ids) - found} of the {len(ids)} images are not in the collection of this run"
        )


def _current(session: Session, run_id: int, ids: list[int]) -> dict[int, int | None]:
    """The cluster of each of ``ids`` that has an assignment in the run."""
    found: dict[int, int | None] = {}
    for part in chunks(ids):
        rows = session.execute(
            select(Assignment.image_id, Assignment.cluster).where(
                Assignment.run_id == run_id, Assignment.image_id.in_(part)
            )
        )
        found.update({image_id: cluster for image_id, cluster in rows})
    return found


def _assign(
    session: Session, run_id: int, ids: list[int], index: int, *, person: bool | None
) -> int:
    """Set the class of ``ids`` in a run to ``index``, keeping the class sizes right.

    ``person=True``: a person's decision (confidence 1, flagged); ``None``: each image keeps
    its confidence and flag (a merge, a split).
    """
    before = _current(session, run_id, ids)
    now = utcnow()
    values: dict[str, object] = {"cluster": index, "updated_at": now}
    if person is not None:
        values["set_by_person"] = person
    if person:
        values["confidence"] = 1.0
    existing = list(before)
    for part in chunks(existing):
        session.execute(
            update(Assignment)
            .where(Assignment.run_id == run_id, Assignment.image_id.in_(part))
            .values(**values)
        )
    missing = [i for i in ids if i not in before]
    if missing:
        session.execute(
            insert(Assignment),
            [
                {
                    "run_id": run_id,
                    "image_id": i,
                    "confidence": 1.0,
                    "set_by_person": bool(person),
                    "x": None,
                    "y": None,
                    **values,
                }
                for i in missing
            ],
        )
    _adjust_sizes(session, run_id, Counter(before.values()), sign=-1)
    _adjust_sizes(session, run_id, Counter({index: len(ids)}), sign=1)
    return len(ids)


def _snapshot(session: Session, run_id: int, ids: list[int], clusters: set[int]) -> dict[str, Any]:
    """The state a correction of ``ids`` will change: their assignments and the classes."""
    state = snapshot(session, run_id, ids, clusters)
    rows = state["assignments"]
    state["clusters"] = snapshot(session, run_id, [], clusters | touched_clusters(rows))["clusters"]
    return state


def _log(
    session: Session,
    run_id: int,
    who: str,
    kind: str,
    summary: str,
    before: dict[str, Any],
    ids: list[int],
    *,
    created: Sequence[int] = (),
) -> None:
    indices = {int(c[0]) for c in before["clusters"]} | set(created)
    after = snapshot(session, run_id, ids, indices)
    after["created"] = list(created)
    record(session, run_id, who=who, kind=kind, summary=summary, before=before, after=after)


def _adjust_sizes(session: Session, run_id: int, counts: Counter[int | None], *, sign: int) -> None:
    for index, n in counts.items():
        if index is None or n == 0:
            continue
        session.execute(
            update(Cluster)
            .where(Cluster.run_id == run_id, Cluster.index == index)
            .values(size=Cluster.size + sign * n)
        )
