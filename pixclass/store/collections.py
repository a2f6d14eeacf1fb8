"""Collections: named sets of images that are ingested, clustered and exported together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pixclass.errors import ConflictError, InputError, NotFoundError
from pixclass.store.blobs import forget_unused_blobs
from pixclass.store.db import Store
from pixclass.store.schema import Collection, Image, Run

MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class CollectionInfo:
    """A collection and how much it holds."""

    id: int
    name: str
    created_at: datetime
    settings: dict[str, Any]
    n_images: int
    n_runs: int


def check_name(name: str) -> str:
    """A collection name, stripped; ``InputError`` when empty or too long."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise InputError(f"a collection name needs 1 to {MAX_NAME_LENGTH} characters, got {name!r}")
    return cleaned


def create_collection(store: Store, name: str, settings: dict[str, Any] | None = None) -> int:
    """Create a collection; returns its id. ``ConflictError`` when the name is taken."""
    name = check_name(name)
    try:
        with store.write() as session:
            collection = Collection(name=name, settings=settings or {})
            session.add(collection)
            session.flush()
            return collection.id
    except IntegrityError as exc:
        raise ConflictError(f"a collection named {name!r} already exists") from exc


def ensure_collection(session: Session, name: str) -> int:
    """The id of collection ``name``, creating it when missing (inside ``session``)."""
    name = check_name(name)
    found = session.scalar(select(Collection.id).where(Collection.name == name))
    if found is not None:
        return found
    collection = Collection(name=name, settings={})
    session.add(collection)
    session.flush()
    return collection.id


def collection_id(session: Session, name: str) -> int:
    """The id of collection ``name``; ``NotFoundError`` naming the known ones when missing."""
    found = session.scalar(select(Collection.id).where(Collection.name == name.strip()))
    if found is None:
        known = session.scalars(select(Collection.name).order_by(Collection.name).limit(20)).all()
        hint = f"known: {', '.join(known)}" if known else "there are none yet"
        raise NotFoundError(
            f"no collection named {name!r} ({hint}); create one with "
            "`pixclass ingest SOURCE --collection NAME`"
        )
    return found


def find_collection_id(store: Store, name: str) -> int:
    """The id of collection ``name`` (what the rest of the store API takes); ``NotFoundError``
    naming the known ones when missing. Callers resolve a name once, where it comes in."""
    with store.session() as session:
        return collection_id(session, name)


def get_collection(store: Store, name: str) -> CollectionInfo:
    """One collection by name."""
    with store.session() as session:
        wanted = collection_id(session, name)
        return next(info for info in _infos(session) if info.id == wanted)


def list_collections(store: Store) -> list[CollectionInfo]:
    """Every collection, by name."""
    with store.session() as session:
        return _infos(session)


def _infos(session: Session) -> list[CollectionInfo]:
    images = (
        select(Image.collection_id, func.count().label("n"))
        .group_by(Image.collection_id)
        .subquery()
    )
    runs = select(Run.collection_id, func.count().label("n")).group_by(Run.collection_id).subquery()
    rows = session.execute(
        select(Collection, func.coalesce(images.c.n, 0), func.coalesce(runs.c.n, 0))
        .outerjoin(images, images.c.collection_id == Collection.id)
        .outerjoin(runs, runs.c.collection_id == Collection.id)
        .order_by(Collection.name)
    )
    return [
        CollectionInfo(
            id=c.id,
            name=c.name,
            created_at=c.created_at,
            settings=dict(c.settings or {}),
            n_images=int(n_images),
            n_runs=int(n_runs),
        )
        for c, n_images, n_runs in rows
    ]


def update_collection_settings(store: Store, name: str, settings: dict[str, Any]) -> None:
    """Replace the settings of a collection (JSON-able values)."""
    with store.write() as session:
        collection = session.get(Collection, collection_id(session, name))
        assert collection is not None
        collection.settings = dict(settings)


def delete_collection(store: Store, name: str) -> int:
    """Delete a collection with its images, runs and results; returns how many images went.

    Image bytes still used by another collection are kept; the rest are removed (from the
    database in the same transaction; from a blob directory after it commits).
    """
    with store.write() as session:
        wanted = collection_id(session, name)
        # Runs first: their assignments go by run (indexed), and then deleting the images finds
        # nothing left to cascade to.
        session.execute(delete(Run).where(Run.collection_id == wanted))
        count = session.scalar(
            select(func.count()).select_from(Image).where(Image.collection_id == wanted)
        )
        session.execute(delete(Image).where(Image.collection_id == wanted))
        session.execute(delete(Collection).where(Collection.id == wanted))
        unused = forget_unused_blobs(session)
    if store.directory is not None:
        for sha in unused:
            store.directory.delete(sha)
    return int(count or 0)
