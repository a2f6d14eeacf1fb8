"""Failed notifications, tried again from their record until they go out or their time is up.

A send that failed for a passing reason (the service down, slow, or asking to wait) is stored
as "retrying", with the message it carried and its target's fingerprint (``Target.key``, never
the URL). ``retry_due`` — called every few seconds by every worker — takes each such send whose
time has come (one process per send: ``claim_send``), finds its target again among the ones
configured now, and sends the message once more. The waits grow: each is as long as the time
since the first try, from ``notify_retry_backoff_seconds`` up to ``MAX_WAIT_SECONDS``, and after
``notify_retry_seconds`` a send that still fails is "failed" for good. ``resend`` is a person
asking for one more try now (``pixclass notify resend``, the app's Resend button).

The record lives in the database, so a retry survives a restart; a process killed during a try
leaves its send due again ``LEASE_SECONDS`` later. Attachments (the run montage) are not kept:
a retried message goes without them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.notify import Message, Notifier, SendResult, Target, TestMessage
from pixclass.store import (
    PendingSend,
    Store,
    claim_send,
    due_sends,
    finish_attempt,
    pending_sends,
    unsent_ids,
)

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 30 * 60
# A send taken for a try by a process that then died is due again after this.
LEASE_SECONDS = 5 * 60
# Sends tried by one call of ``retry_due``; the rest wait for the next call.
BATCH = 50
TARGET_GONE = "its target is no longer configured (removed, or its URL changed); not sent"


def retry_plan(
    settings: Settings, result: SendResult, first_try: datetime, now: datetime
) -> tuple[str, datetime | None, datetime]:
    """(status, next try or None, give-up time) for a send that ended with ``result``."""
    give_up = first_try + timedelta(seconds=settings.notify_retry_seconds)
    if result.ok:
        return "sent", None, give_up
    if not result.retryable or result.event_type == TestMessage.event_type or now >= give_up:
        return "failed", None, give_up
    waited = (now - first_try).total_seconds()
    wait = min(max(settings.notify_retry_backoff_seconds, waited), MAX_WAIT_SECONDS)
    return "retrying", min(now + timedelta(seconds=wait), give_up), give_up


def message_payload(message: Message) -> dict[str, str]:
    """What a send record keeps of a message, to send it again (no attachments)."""
    return {
        "event_type": message.event_type,
        "title": message.title,
        "body": message.body,
        "notify_type": message.notify_type,
    }


def retry_due(settings: Settings, store: Store, now: datetime | None = None) -> list[SendResult]:
    """Try once more every waiting send whose time has come (see the module docs).

    Never raises for a send that fails; returns one result per send tried.
    """
    now = now or datetime.now(UTC)
    results = []
    for send_id in due_sends(store, now, BATCH):
        if claim_send(store, send_id, now, now + timedelta(seconds=LEASE_SECONDS)):
            [pending] = pending_sends(store, [send_id])
            results.append(_try_again(settings, store, pending, now))
    return results


def resend(
    settings: Settings,
    store: Store,
    send_ids: Sequence[int] = (),
    *,
    collection: str | None = None,
    now: datetime | None = None,
) -> list[SendResult]:
    """Send the recorded sends ``send_ids`` again now (none given: every one not delivered,
    of ``collection`` or of all). One result each.

    Raises
    ------
    NotFoundError
        An id is not a recorded send (of ``collection``, when given).
    InputError
        A send named was delivered already.
    """
    now = now or datetime.now(UTC)
    ids = list(send_ids) or unsent_ids(store, collection)
    pending = pending_sends(store, ids)
    wrong = [p.id for p in pending if collection is not None and p.collection != collection]
    if wrong:
        raise InputError(f"notification(s) {wrong} are not about collection {collection!r}")
    delivered = [p.id for p in pending if p.status == "sent"]
    if delivered:
        raise InputError(f"notification(s) {delivered} went out already; nothing to resend")
    results = []
    for item in pending:
        if claim_send(store, item.id, now, now + timedelta(seconds=LEASE_SECONDS), due_only=False):
            results.append(_try_again(settings, store, item, now))
    return results


def _try_again(settings: Settings, store: Store, pending: PendingSend, now: datetime) -> SendResult:
    target = _find_target(settings, store, pending)
    payload = pending.payload or {}
    if target is None or not payload.get("body"):
        error = TARGET_GONE if target is None else "the message was not kept; not sent"
        finish_attempt(
            store, pending.id, ok=False, error=error, attempts=0, duration=0.0, status="failed"
        )
        shown = target.display if target is not None else "(unknown target)"
        return SendResult(shown, pending.event_type, False, error, 0, now, 0.0)
    message = Message(
        event_type=pending.event_type,
        title=str(payload.get("title", "")),
        body=str(payload["body"]),
        notify_type=str(payload.get("notify_type", "info")),
    )
    notifier = Notifier.from_settings(
        settings, [], retries=0, storage_dir=settings.data_dir / "apprise"
    )
    result = notifier.resend(target, message)
    window = timedelta(seconds=settings.notify_retry_seconds)
    first_try = now if pending.give_up_at is None else pending.give_up_at - window
    status, next_try, _ = retry_plan(settings, result, first_try, now)
    finish_attempt(
        store,
        pending.id,
        ok=result.ok,
        error=result.error,
        attempts=result.attempts,
        duration=result.duration,
        status=status,
        next_attempt_at=next_try,
    )
    log.info("notification %s to %s: %s on another try", pending.id, target.display, status)
    return replace(result, retryable=status == "retrying")


def _find_target(settings: Settings, store: Store, pending: PendingSend) -> Target | None:
    from pixclass.services.targets import all_targets

    try:
        targets = all_targets(settings, store, pending.collection)
    except Exception as exc:  # the configuration broke meanwhile: the send cannot find its target
        log.warning("notification %s: cannot read the targets (%s)", pending.id, exc)
        return None
    return next((t for t in targets if t.key == pending.target_key), None)
