"""Read queries for browsing results: class cards, a class's images page by page, the review
queue, one image's class (the map's points are in ``maps``). Written for collections of 70,000
images: every query reads one run's assignments through its primary key and fetches only what a
page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pixclass.errors import InputError, NotFoundError
from pixclass.store.collections import CollectionInfo
from pixclass.store.db import Store
from pixclass.store.images import ImageRecord, image_record, image_record_query
from pixclass.store.results import display_name
from pixclass.store.runs import latest_done_run, run_row
from pixclass.store.schema import Assignment, Cluster, Collection, Image, Run


@dataclass(frozen=True)
class RunBrief:
    """The few fields of a run that a list of collections shows."""

    id: int
    status: str
    n_clusters: int | None
    features: str
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class ClassCard:
    """A class of a run as the gallery shows it: its size and its most confident images."""

    index: int
    name: str | None
    display_name: str
    size: int
    sample_ids: list[int]
    mean_confidence: float | None = None  # asked for with ``confidence=True``


@dataclass(frozen=True)
class ClassImage:
    """An image on a class page or in the review queue."""

    image_id: int
    cluster: int | None
    class_name: str
    confidence: float
    set_by_person: bool


def collection_by_id(store: Store, collection_id: int) -> CollectionInfo:
    """One collection by id with its counts; ``NotFoundError`` when there is none."""
    with store.session() as session:
        collection = session.get(Collection, collection_id)
        if collection is None:
            raise NotFoundError(f"no collection with id {collection_id}")
        n_images = session.scalar(
            select(func.count()).select_from(Image).where(Image.collection_id == collection_id)
        )
        n_runs = session.scalar(
            select(func.count()).select_from(Run).where(Run.collection_id == collection_id)
        )
        return CollectionInfo(
            id=collection.id,
            name=collection.name,
            created_at=collection.created_at,
            settings=dict(collection.settings or {}),
            n_images=int(n_images or 0),
            n_runs=int(n_runs or 0),
        )


def latest_runs(store: Store) -> dict[int, RunBrief]:
    """The newest run of each collection (any status), by collection id."""
    with store.session() as session:
        newest = select(func.max(Run.id)).group_by(Run.collection_id)
        runs = session.scalars(select(Run).where(Run.id.in_(newest)))
        return {run.collection_id: _summary(run) for run in runs}


def _summary(run: Run) -> RunBrief:
    return RunBrief(
        id=run.id,
        status=run.status,
        n_clusters=run.n_clusters,
        features=run.features,
        created_at=run.created_at,
        finished_at=run.finished_at,
    )


def latest_done_run_id(store: Store, collection_id: int) -> int | None:
    """The newest finished run of a collection, or None."""
    with store.session() as session:
        return latest_done_run(session, collection_id)


def run_collection_id(store: Store, run_id: int) -> int:
    """The id of the collection a run belongs to."""
    with store.session() as session:
        return run_row(session, run_id).collection_id


def class_cards(
    store: Store, run_id: int, *, samples: int = 6, confidence: bool = False
) -> list[ClassCard]:
    """The classes of a run, largest first, each with its ``samples`` most confident images
    (and, with ``confidence``, the mean confidence of its images).

    Classes left empty by merges and moves are included (``size`` 0); callers may hide them.
    """
    with store.session() as session:
        run_row(session, run_id)
        clusters = list(session.scalars(select(Cluster).where(Cluster.run_id == run_id)))
        shown = [c.index for c in clusters if c.size > 0]
        picked = _top_images(session, run_id, shown, samples)
        means = _mean_confidences(session, run_id) if confidence else {}
    cards = [
        ClassCard(
            index=c.index,
            name=c.name,
            display_name=display_name(c.index, c.name),
            size=c.size,
            sample_ids=picked.get(c.index, []),
            mean_confidence=means.get(c.index),
        )
        for c in clusters
    ]
    return sorted(cards, key=lambda card: (-card.size, card.index))


def _mean_confidences(session: Session, run_id: int) -> dict[int, float]:
    rows = session.execute(
        select(Assignment.cluster, func.avg(Assignment.confidence))
        .where(Assignment.run_id == run_id, Assignment.cluster.is_not(None))
        .group_by(Assignment.cluster)
    )
    return {int(index): float(mean) for index, mean in rows if mean is not None}


def class_counts(store: Store, collection_id: int) -> dict[int, int]:
    """How many classes hold images in each run of a collection (splits and merges included,
    which the run's ``n_clusters``, the count it was made with, does not follow)."""
    with store.session() as session:
        rows = session.execute(
            select(Cluster.run_id, func.count())
            .join(Run, Run.id == Cluster.run_id)
            .where(Run.collection_id == collection_id, Cluster.size > 0)
            .group_by(Cluster.run_id)
        )
        return {int(run_id): int(n) for run_id, n in rows}


def collection_covers(store: Store, n: int = 4) -> dict[int, list[int]]:
    """The first ``n`` images of every collection (its cover), by collection id."""
    with store.session() as session:
        covers = {}
        for collection_id in session.scalars(select(Collection.id)):
            covers[int(collection_id)] = list(
                session.scalars(
                    select(Image.id)
                    .where(Image.collection_id == collection_id)
                    .order_by(Image.id)
                    .limit(n)
                )
            )
        return covers


def _top_images(session: Session, run_id: int, indices: list[int], n: int) -> dict[int, list[int]]:
    """The ``n`` most confident images of each class: one short index scan per class
    (``ix_assignments_class``), where a window over the run would sort all of it."""
    if n <= 0:
        return {}
    picked = {}
    for index in indices:
        picked[index] = list(
            session.scalars(
                select(Assignment.image_id)
                .where(Assignment.run_id == run_id, Assignment.cluster == index)
                .order_by(Assignment.confidence.desc(), Assignment.image_id)
                .limit(n)
            )
        )
    return picked


def get_class(store: Store, run_id: int, index: int) -> ClassCard:
    """One class of a run (no samples); ``NotFoundError`` when the run has no such class."""
    with store.session() as session:
        run_row(session, run_id)
        cluster = session.scalar(
            select(Cluster).where(Cluster.run_id == run_id, Cluster.index == index)
        )
        if cluster is None:
            raise NotFoundError(f"run {run_id} has no class {index}")
        return ClassCard(
            cluster.index, cluster.name, display_name(cluster.index, cluster.name), cluster.size, []
        )


# How a class page may be ordered (the first is the default).
CLASS_SORTS = {
    "confident": (Assignment.confidence.desc(), Assignment.image_id),
    "unsure": (Assignment.confidence, Assignment.image_id),
    "name": (Image.file_name, Image.id),
    "newest": (Assignment.image_id.desc(),),  # ids grow as images are added; no join needed
}


def class_images(
    store: Store,
    run_id: int,
    index: int,
    *,
    offset: int = 0,
    limit: int = 120,
    sort: str = "confident",
    unconfirmed: bool = False,
    search: str = "",
) -> list[ClassImage]:
    """One page of the images of a class, most confident first (or by ``sort``), only those no
    person confirmed (``unconfirmed``), only those whose file name contains ``search``."""
    if sort not in CLASS_SORTS:
        raise InputError(f"unknown sort {sort!r}: use one of {', '.join(CLASS_SORTS)}")
    card = get_class(store, run_id, index)
    query = select(Assignment.image_id, Assignment.confidence, Assignment.set_by_person).where(
        Assignment.run_id == run_id, Assignment.cluster == index
    )
    if sort == "name" or search:
        query = query.join(Image, Image.id == Assignment.image_id)
    if search:
        query = query.where(Image.file_name.contains(search, autoescape=True))
    if unconfirmed:
        query = query.where(Assignment.set_by_person.is_(False))
    with store.session() as session:
        rows = session.execute(
            query.order_by(*CLASS_SORTS[sort]).offset(max(0, offset)).limit(max(0, limit))
        )
        return [
            ClassImage(image_id, index, card.display_name, float(confidence), bool(person))
            for image_id, confidence, person in rows
        ]


def review_queue(
    store: Store, run_id: int, *, offset: int = 0, limit: int = 60
) -> list[ClassImage]:
    """Images no person has looked at yet, the least confident first."""
    with store.session() as session:
        run_row(session, run_id)
        rows = session.execute(
            select(Assignment.image_id, Assignment.cluster, Cluster.name, Assignment.confidence)
            .outerjoin(
                Cluster,
                (Cluster.run_id == Assignment.run_id) & (Cluster.index == Assignment.cluster),
            )
            .where(Assignment.run_id == run_id, Assignment.set_by_person.is_(False))
            .order_by(Assignment.confidence, Assignment.image_id)
            .offset(max(0, offset))
            .limit(max(0, limit))
        )
        return [
            ClassImage(image_id, cluster, display_name(cluster, name), float(confidence), False)
            for image_id, cluster, name, confidence in rows
        ]


def count_unreviewed(store: Store, run_id: int) -> int:
    """How many images of a run no person has confirmed or moved."""
    with store.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Assignment)
                .where(Assignment.run_id == run_id, Assignment.set_by_person.is_(False))
            )
            or 0
        )


def image_class(store: Store, run_id: int, image_id: int) -> ClassImage | None:
    """The class of one image in a run, or None when the run has not classified it."""
    with store.session() as session:
        run = run_row(session, run_id)
        image = session.get(Image, image_id)
        if image is None or image.collection_id != run.collection_id:
            raise NotFoundError(f"run {run_id} has no image {image_id}")
        row = session.execute(
            select(
                Assignment.cluster, Cluster.name, Assignment.confidence, Assignment.set_by_person
            )
            .outerjoin(
                Cluster,
                (Cluster.run_id == Assignment.run_id) & (Cluster.index == Assignment.cluster),
            )
            .where(Assignment.run_id == run_id, Assignment.image_id == image_id)
        ).first()
    if row is None:
        return None
    cluster, name, confidence, person = row
    return ClassImage(image_id, cluster, display_name(cluster, name), float(confidence), person)


def image_collection_id(store: Store, image_id: int) -> int:
    """The id of the collection an image belongs to; ``NotFoundError`` when there is none."""
    with store.session() as session:
        found = session.scalar(select(Image.collection_id).where(Image.id == image_id))
    if found is None:
        raise NotFoundError(f"no image with id {image_id}")
    return int(found)


def classes_of(store: Store, run_id: int, image_ids: list[int]) -> dict[int, ClassImage]:
    """The class of each of ``image_ids`` in a run (those it has classified)."""
    found: dict[int, ClassImage] = {}
    with store.session() as session:
        run_row(session, run_id)
        for start in range(0, len(image_ids), 500):
            part = image_ids[start : start + 500]
            rows = session.execute(
                select(
                    Assignment.image_id,
                    Assignment.cluster,
                    Cluster.name,
                    Assignment.confidence,
                    Assignment.set_by_person,
                )
                .outerjoin(
                    Cluster,
                    (Cluster.run_id == Assignment.run_id) & (Cluster.index == Assignment.cluster),
                )
                .where(Assignment.run_id == run_id, Assignment.image_id.in_(part))
            )
            for image_id, cluster, name, confidence, person in rows:
                found[image_id] = ClassImage(
                    image_id, cluster, display_name(cluster, name), float(confidence), person
                )
    return found


def run_image_ids(store: Store, run_id: int, limit: int | None = None) -> list[int]:
    """The ids of the images a run has a class for, in id order (the first ``limit``)."""
    with store.session() as session:
        run_row(session, run_id)
        query = (
            select(Assignment.image_id)
            .where(Assignment.run_id == run_id)
            .order_by(Assignment.image_id)
        )
        if limit is not None:
            query = query.limit(limit)
        return list(session.scalars(query))


def images_page(
    store: Store, collection_id: int, *, offset: int = 0, limit: int = 100
) -> list[ImageRecord]:
    """One page of a collection's images, in the order they were added."""
    with store.session() as session:
        rows = session.execute(
            image_record_query()
            .where(Image.collection_id == collection_id)
            .order_by(Image.id)
            .offset(max(0, offset))
            .limit(max(0, limit))
        )
        return [image_record(image, sha, name) for image, sha, name in rows]
