"""A person's corrections of a run, in bulk: move images, confirm them, merge and split classes.

Every correction is an assignment with ``set_by_person`` set (see ``results``), so it wins over
any run's own result and survives reloads and later runs. Class sizes (``clusters.size``) are kept
equal to the number of images assigned to each class, in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from pixclass.errors import InputError, NotFoundError
from pixclass.store.blobs import chunks
from pixclass.store.db import Store
from pixclass.store.results import ClusterInfo, cluster_info, find_cluster
from pixclass.store.runs import run_row
from pixclass.store.schema import Assignment, Cluster, Image, utcnow

# A selection on the map can hold a whole collection; beyond this it is surely a mistake.
MAX_IMAGES_PER_CORRECTION = 200_000


def move_images(
    store: Store, run_id: int, image_ids: Sequence[int], cluster: str | int
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
        moved = _assign(session, run_id, ids, target.index, person=True)
        session.flush()
        session.refresh(target)
        return cluster_info(target), moved


def confirm_images(store: Store, run_id: int, image_ids: Sequence[int]) -> int:
    """A person confirms the class a run gave these images; returns how many were confirmed.

    Images without a class (unknown, or not classified by the run) are left alone.
    """
    ids = _checked_ids(image_ids)
    confirmed = 0
    with store.write() as session:
        run_row(session, run_id)
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
    return confirmed


def merge_clusters(
    store: Store, run_id: int, clusters: Sequence[str | int], into: str | int
) -> ClusterInfo:
    """Move every image of ``clusters`` into ``into``; the merged classes are left empty.

    Empty classes are kept (their rows anchor the corrections made in them); the app hides them.
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
        _assign(session, run_id, ids, target.index, person=True)
        session.flush()
        session.refresh(target)
        return cluster_info(target)


def split_cluster(
    store: Store, run_id: int, cluster: str | int, parts: Sequence[Sequence[int]]
) -> list[ClusterInfo]:
    """Split a class: ``parts[0]`` stays in it, each further part becomes a new class.

    ``parts`` must cover the images of the class exactly; each part's first image becomes the
    representative of its new class. The moved images are marked as a person's decision.
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
            _assign(session, run_id, [int(i) for i in part], index, person=True)
            created.append(index)
        session.flush()
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


def _assign(session: Session, run_id: int, ids: list[int], index: int, *, person: bool) -> int:
    """Set the class of ``ids`` in a run to ``index``, keeping the class sizes right."""
    before = _current(session, run_id, ids)
    now = utcnow()
    values = {"cluster": index, "set_by_person": person, "updated_at": now}
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
                {"run_id": run_id, "image_id": i, "confidence": 1.0, "x": None, "y": None, **values}
                for i in missing
            ],
        )
    _adjust_sizes(session, run_id, Counter(before.values()), sign=-1)
    _adjust_sizes(session, run_id, Counter({index: len(ids)}), sign=1)
    return len(ids)


def _adjust_sizes(session: Session, run_id: int, counts: Counter[int | None], *, sign: int) -> None:
    for index, n in counts.items():
        if index is None or n == 0:
            continue
        session.execute(
            update(Cluster)
            .where(Cluster.run_id == run_id, Cluster.index == index)
            .values(size=Cluster.size + sign * n)
        )
