"""The files of a watched inbox that were dealt with, so that each is processed once.

A file is known by (collection, path, size, mtime): a watcher that restarts skips what it did
before, and a file replaced by another of the same name (other size or mtime) counts as new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pixclass.store.db import Store
from pixclass.store.schema import InboxFile, utcnow

INBOX_STATUSES = ("classified", "waiting", "skipped", "unpacked")


@dataclass(frozen=True)
class InboxEntry:
    """A file of the inbox and what became of it.

    ``status`` is ``classified``, ``waiting`` (ingested; no model yet), ``skipped`` (with a
    ``reason``) or ``unpacked`` (an archive; its images have rows ``NAME.zip/member``);
    ``image_id`` is the image the file became, if any.
    """

    path: str
    size: int
    mtime_ns: int
    status: str
    reason: str | None = None
    image_id: int | None = None


def processed_files(store: Store, collection_id: int) -> set[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every file of the collection's inbox dealt with before."""
    with store.session() as session:
        rows = session.execute(
            select(InboxFile.path, InboxFile.size, InboxFile.mtime_ns).where(
                InboxFile.collection_id == collection_id
            )
        )
        return {(path, int(size), int(mtime)) for path, size, mtime in rows}


def record_inbox_files(store: Store, collection_id: int, entries: Sequence[InboxEntry]) -> None:
    """Remember files as dealt with (a file recorded already is left as it is)."""
    if not entries:
        return
    now = utcnow()
    with store.write() as session:
        rows = [
            {
                "collection_id": collection_id,
                "path": e.path,
                "size": e.size,
                "mtime_ns": e.mtime_ns,
                "status": e.status,
                "reason": e.reason,
                "image_id": e.image_id,
                "processed_at": now,
            }
            for e in entries
        ]
        session.execute(_insert_new(session), rows)


def waiting_images(store: Store, collection_id: int) -> list[int]:
    """Images that came through the inbox while the collection had no model yet."""
    with store.session() as session:
        query = select(InboxFile.image_id).where(
            InboxFile.collection_id == collection_id,
            InboxFile.status == "waiting",
            InboxFile.image_id.is_not(None),
        )
        return sorted({int(i) for i in session.scalars(query) if i is not None})


def mark_classified(store: Store, collection_id: int, image_ids: Sequence[int]) -> None:
    """Waiting files whose images are now classified."""
    with store.write() as session:
        session.execute(
            update(InboxFile)
            .where(
                InboxFile.collection_id == collection_id,
                InboxFile.status == "waiting",
                InboxFile.image_id.in_([int(i) for i in image_ids]),
            )
            .values(status="classified")
        )


def _insert_new(session: Session) -> Any:
    keys = ["collection_id", "path", "size", "mtime_ns"]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(InboxFile).on_conflict_do_nothing(index_elements=keys)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(InboxFile).on_conflict_do_nothing(index_elements=keys)
