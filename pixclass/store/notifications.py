"""The record of every notification sent: one row per event and target, failures included.

Rows come from ``pixclass.notify.SendResult.to_dict()`` (through the ``Notifier``'s ``on_result``
hook): the target in Apprise's privacy form, never the URL with its secrets, and the error in
the server's own words (an SMTP reply, an HTTP status and body). A failed send that may be
retried keeps what it said (``payload``) and its target's fingerprint (``target_key``), so a
later process can send it again: ``due_sends`` finds those whose time has come, ``claim_send``
lets exactly one process take each, ``finish_attempt`` stores how the try went.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from pixclass.errors import InputError, NotFoundError
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
    status: str = "sent"
    next_attempt_at: datetime | None = None
    give_up_at: datetime | None = None


@dataclass(frozen=True)
class PendingSend:
    """What it takes to send a recorded notification again."""

    id: int
    collection: str | None
    event_type: str
    status: str
    target_key: str | None
    payload: dict[str, Any] | None
    attempts: int
    give_up_at: datetime | None


SEND_STATUSES = ("sent", "retrying", "failed")


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

    Optional keys: ``status`` (default: "sent" or "failed" from ``ok``), ``target_key``,
    ``payload`` (the message, to resend it), ``next_attempt_at`` and ``give_up_at``.
    """
    sent_at = _aware(send["sent_at"])
    status = str(send.get("status") or ("sent" if send["ok"] else "failed"))
    _check_status(status)
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
            sent_at=sent_at,
            duration=float(send.get("duration", 0.0)),
            status=status,
            target_key=send.get("target_key") or None,
            payload=send.get("payload"),
            next_attempt_at=_aware(send.get("next_attempt_at")),
            give_up_at=_aware(send.get("give_up_at")),
        )
        session.add(row)
        session.flush()
        return row.id


def due_sends(store: Store, now: datetime, limit: int = 100) -> list[int]:
    """Ids of the sends waiting for another try whose time has come, oldest first."""
    with store.session() as session:
        query = (
            select(NotificationSend.id)
            .where(NotificationSend.status == "retrying")
            .where(NotificationSend.next_attempt_at <= now)
            .order_by(NotificationSend.next_attempt_at, NotificationSend.id)
            .limit(limit)
        )
        return list(session.scalars(query))


def claim_send(
    store: Store, send_id: int, now: datetime, until: datetime, *, due_only: bool = True
) -> bool:
    """Take a send for one try: push its next try to ``until`` unless another process took it
    first. A process killed in the middle of the try leaves the send due again at ``until``.

    With ``due_only`` (the background retries) only a waiting send whose time has come is
    taken; without (a person's resend) any send not delivered yet.
    """
    query = update(NotificationSend).where(NotificationSend.id == send_id)
    if due_only:
        query = query.where(NotificationSend.status == "retrying")
        query = query.where(NotificationSend.next_attempt_at <= now)
    else:
        query = query.where(NotificationSend.status != "sent")
    with store.write() as session:
        result = session.execute(
            query.values(next_attempt_at=until).execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def pending_sends(store: Store, send_ids: list[int]) -> list[PendingSend]:
    """The recorded sends ``send_ids`` with what it takes to resend them, in id order.

    Raises
    ------
    NotFoundError
        One of the ids is not a recorded send.
    """
    with store.session() as session:
        query = (
            select(NotificationSend, Collection.name)
            .outerjoin(Collection, Collection.id == NotificationSend.collection_id)
            .where(NotificationSend.id.in_(send_ids))
            .order_by(NotificationSend.id)
        )
        found = [
            PendingSend(
                id=row.id,
                collection=name,
                event_type=row.event_type,
                status=row.status,
                target_key=row.target_key,
                payload=row.payload,
                attempts=row.attempts,
                give_up_at=row.give_up_at,
            )
            for row, name in session.execute(query)
        ]
    missing = sorted(set(send_ids) - {p.id for p in found})
    if missing:
        raise NotFoundError(
            f"no recorded notification {', '.join(map(str, missing))}; "
            "`pixclass notify log` lists them"
        )
    return found


def unsent_ids(store: Store, collection: str | None = None, limit: int = MAX_LIMIT) -> list[int]:
    """Ids of the sends not (yet) delivered, retrying or failed for good, oldest first."""
    with store.session() as session:
        query = (
            select(NotificationSend.id)
            .where(NotificationSend.status != "sent")
            .order_by(NotificationSend.id)
            .limit(limit)
        )
        if collection is not None:
            wanted = collection_id(session, collection)
            query = query.where(NotificationSend.collection_id == wanted)
        return list(session.scalars(query))


def finish_attempt(
    store: Store,
    send_id: int,
    *,
    ok: bool,
    error: str | None,
    attempts: int,
    duration: float,
    status: str,
    next_attempt_at: datetime | None = None,
) -> None:
    """Store how another try of a recorded send went (``attempts``: tries it made)."""
    _check_status(status)
    with store.write() as session:
        row = session.get(NotificationSend, send_id)
        if row is None:
            raise NotFoundError(f"no recorded notification {send_id}")
        row.ok = ok
        row.error = error
        row.attempts += attempts
        row.duration += duration
        row.status = status
        row.next_attempt_at = next_attempt_at


def _check_status(status: str) -> None:
    if status not in SEND_STATUSES:
        raise InputError(f"send status must be one of {', '.join(SEND_STATUSES)}, got {status!r}")


def _aware(value: Any) -> Any:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


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
                status=row.status,
                next_attempt_at=row.next_attempt_at,
                give_up_at=row.give_up_at,
            )
            for row, name in session.execute(query)
        ]
