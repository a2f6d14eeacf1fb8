"""Who is told about a collection, and sending to them with every send recorded.

Targets come from the global configuration (``Settings.notify_urls``, the config file's
``[notify]``) and from the collection itself: its settings hold ``notify_targets``, a list of
``{"url": ..., "tags": [...]}`` checked by ``pixclass.notify.normalise_targets`` (so any secret in a
URL is a ``{secret:NAME}`` placeholder: the database never holds one). Every send is stored in
the ``notifications`` table through the notifier's ``on_result`` hook. Sending never raises: a
notification that fails must not fail the job that sent it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pixclass.config import Settings
from pixclass.errors import InputError, NotFoundError
from pixclass.notify import (
    Event,
    Notifier,
    Secrets,
    SendResult,
    Target,
    configured_targets,
    format_event,
    normalise_targets,
    targets_from_dicts,
)
from pixclass.store import (
    SendRecord,
    Store,
    get_collection,
    list_sends,
    record_send,
    update_collection_settings,
)

__all__ = [
    "SendRecord",
    "add_collection_target",
    "collection_targets",
    "list_sends",
    "remove_collection_target",
    "send_event",
]

log = logging.getLogger(__name__)

TARGETS_KEY = "notify_targets"
REVIEW_KEY = "review_percent"
# "Review needed" when more than this share (%) of the images has a confidence below 0.5.
DEFAULT_REVIEW_PERCENT = 10.0


def collection_targets(store: Store, collection: str) -> list[Target]:
    """The collection's own targets (not the global ones)."""
    stored = get_collection(store, collection).settings.get(TARGETS_KEY) or []
    return targets_from_dicts(stored)


def all_targets(settings: Settings, store: Store, collection: str | None) -> list[Target]:
    """The global targets, then the collection's own (when named and still there)."""
    targets = configured_targets(settings, secrets=Secrets.load(settings))
    if collection is not None:
        known = {t.url for t in targets}
        targets += [t for t in collection_targets(store, collection) if t.url not in known]
    return targets


def add_collection_target(
    store: Store,
    settings: Settings,
    collection: str,
    url: str,
    tags: Iterable[str] = (),
) -> list[Target]:
    """Add a target to a collection (or change the tags of one it has); returns its targets.

    Raises
    ------
    InputError
        Apprise does not understand the URL, a tag is not an event type, or the URL holds a
        password, token or key written out instead of a ``{secret:NAME}`` placeholder.
    """
    current = get_collection(store, collection).settings
    kept = [t for t in current.get(TARGETS_KEY) or [] if t.get("url") != url.strip()]
    entry = {"url": url, "tags": list(tags)}
    stored = normalise_targets([*kept, entry], secrets=Secrets.load(settings))
    update_collection_settings(store, collection, {**current, TARGETS_KEY: stored})
    return targets_from_dicts(stored)


def remove_collection_target(store: Store, collection: str, which: str) -> Target:
    """Remove a target from a collection: by its URL as added, as shown, or its number (1, 2...).

    Raises
    ------
    NotFoundError
        The collection has no such target; the message lists the ones it has.
    """
    current = get_collection(store, collection).settings
    stored = list(current.get(TARGETS_KEY) or [])
    targets = targets_from_dicts(stored)
    key = which.strip()
    for number, target in enumerate(targets, start=1):
        if key in (target.url, target.display, str(number)):
            del stored[number - 1]
            update_collection_settings(store, collection, {**current, TARGETS_KEY: stored})
            return target
    listed = "; ".join(f"{n}: {t.display}" for n, t in enumerate(targets, start=1)) or "none"
    raise NotFoundError(f"collection {collection!r} has no target {which!r} (it has: {listed})")


def review_percent(store: Store, collection: str, override: float | None = None) -> float:
    """The review-needed threshold: the job's, else the collection's, else 10 %."""
    if override is not None:
        return float(override)
    value = get_collection(store, collection).settings.get(REVIEW_KEY)
    try:
        return float(value) if value is not None else DEFAULT_REVIEW_PERCENT
    except (TypeError, ValueError):
        log.warning("collection %s: ignoring review_percent %r (not a number)", collection, value)
        return DEFAULT_REVIEW_PERCENT


def review_needed(n_low: int, n_total: int, percent: float) -> bool:
    """More than ``percent`` % of ``n_total`` images are uncertain."""
    return n_total > 0 and n_low > 0 and n_low * 100.0 > percent * n_total


def send_event(
    settings: Settings,
    store: Store,
    event: Event,
    *,
    collection: str,
    job_id: int | None = None,
    run_id: int | None = None,
    **options: Any,
) -> list[SendResult]:
    """Send ``event`` to the global and the collection's targets; store every result.

    Never raises. ``options`` go to ``Notifier`` (``retries``, ``timeout``, ...).
    """
    try:
        extra = collection_targets(store, collection)
    except Exception as exc:  # a bad stored list must not silence the global targets
        log.warning("collection %s: its notification targets cannot be used: %s", collection, exc)
        extra = []

    from pixclass.services.retries import message_payload, retry_plan

    try:
        payload: dict[str, str] | None = message_payload(format_event(event))
    except Exception:  # the notifier reports the same failure for each target
        payload = None

    def record(result: SendResult) -> None:
        status, next_try, give_up = retry_plan(settings, result, result.sent_at, _now())
        row = {
            **result.to_dict(),
            "status": status,
            "next_attempt_at": next_try,
            "give_up_at": give_up,
            "payload": None if result.ok else payload,
        }
        record_send(store, row, collection=collection, job_id=job_id, run_id=run_id)

    try:
        notifier = Notifier.from_settings(
            settings,
            extra,
            on_result=record,
            storage_dir=settings.data_dir / "apprise",
            **options,
        )
        return notifier.send(event)
    except InputError as exc:  # the global configuration itself is wrong
        log.warning("could not send %s notifications: %s", event.event_type, exc)
    except Exception:
        log.exception("could not send %s notifications", event.event_type)
    return []


def _now() -> datetime:
    return datetime.now(UTC)


def send_counts(results: list[SendResult]) -> dict[str, int]:
    """``{"sent": ..., "failed": ...}`` for a job's result."""
    sent = sum(1 for r in results if r.ok)
    return {"sent": sent, "failed": len(results) - sent}
