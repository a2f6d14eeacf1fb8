"""The record of every notification sent: one row per event and target, failures included.

Rows come from ``pixclass.notify.SendResult.to_dict()`` (through the ``Notifier``'s ``on_result``
hook): the target in Apprise's privacy form, never the URL with its secrets, and the error in
the server's own words (an SMTP reply, an HTTP status and body).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from pixclass.errors import InputError
from pixclass.store.collections import collection_id
from pixclass.store.db import Store
from pixclass.store.schema import Collection, NotificationSend

MAX_LIMIT = 1000


@dataclass(frozen=True)
class SendRecord:
    """A stored send: which event went to which target (privacy form), and how it went."""

    id: int
    collection: str | None
    job_id: int | None
    run_id: int | None
    event_type: str
    target: str
    ok: bool
    error: str | None
    attempts: int
    sent_at: datetime
    duration: float


def record_send(
    store: Store,
    send: Mapping[str, Any],
    *,
    collection: str | None = None,
    job_id: int | None = None,
    run_id: int | None = None,
) -> int:
    """Store one send result (``SendResult.to_dict()``); returns the row id.

    Parameters
    ----------
    send : mapping
        ``target`` (privacy form), ``event_type``, ``ok``, ``error``, ``attempts``,
        ``sent_at`` (datetime or ISO 8601 string) and ``duration``.
    collection, job_id, run_id
        What the notification was about, where known.
    """
    sent_at = send["sent_at"]
    if isinstance(sent_at, str):
        sent_at = datetime.fromisoformat(sent_at)
    with store.write() as session:
        row = NotificationSend(
            collection_id=collection_id(session, collection) if collection else None,
            job_id=job_id,
            run_id=run_id,
            event_type=str(send["event_type"]),
            target=str(send["target"]),
            ok=bool(send["ok"]),
            error=send.get("error"),
            attempts=int(send.get("attempts", 0)),
            sent_at=sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC),
            duration=float(send.get("duration", 0.0)),
        )
        session.add(row)
        session.flush()
        return row.id


def list_sends(store: Store, collection: str | None = None, limit: int = 100) -> list[SendRecord]:
    """Sends, newest first, about one collection or all of them."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    with store.session() as session:
        query = (
            select(NotificationSend, Collection.name)
            .outerjoin(Collection, Collection.id == NotificationSend.collection_id)
            .order_by(NotificationSend.id.desc())
            .limit(limit)
        )
        if collection is not None:
            wanted = collection_id(session, collection)
            query = query.where(NotificationSend.collection_id == wanted)
        return [
            SendRecord(
                id=row.id,
                collection=name,
                job_id=row.job_id,
                run_id=row.run_id,
                event_type=row.event_type,
                target=row.target,
                ok=row.ok,
                error=row.error,
                attempts=row.attempts,
                sent_at=row.sent_at,
                duration=row.duration,
            )
            for row, name in session.execute(query)
        ]
