"""Event -> message: a short title, a plain-text body that reads well as markdown, attachments.

Bodies stay short because they land on phone lock screens (ntfy, notify.run) as well as in
e-mail. Every body ends with the event type so mail filters and webhooks can sort on it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import singledispatch

from pixclass.errors import InputError, hide_paths
from pixclass.io.montage import montage_png  # noqa: F401  (re-exported: events attach montages)
from pixclass.notify.events import (
    Event,
    ImagesClassified,
    ReviewNeeded,
    RunFailed,
    RunFinished,
    TestMessage,
)

# How many classes a compact size list names before it sums up the rest.
MAX_LISTED = 10


@dataclass(frozen=True)
class Attachment:
    """A file sent along with a message."""

    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


@dataclass(frozen=True)
class Message:
    """What one event says.

    ``notify_type`` is Apprise's ``info``, ``success``, ``warning`` or ``failure``; services use it
    for icons and colours.
    """

    event_type: str
    title: str
    body: str
    notify_type: str = "info"
    attachments: tuple[Attachment, ...] = ()


def format_event(event: Event) -> Message:
    """Turn an event into the message every target receives.

    Absolute paths are cut to their file names (``hide_paths``): whoever reads a notification
    learns which file, not where the server keeps it.
    """
    message: Message = _format(event)
    return replace(message, title=hide_paths(message.title), body=hide_paths(message.body))


def compact_sizes(sizes: Iterable[tuple[str, int]], limit: int = MAX_LISTED) -> str:
    """``"cats 412, dogs 380, birds 120 +3 more (57 images)"``: largest first, ``limit`` named."""
    ordered = sorted(sizes, key=lambda item: (-item[1], str(item[0])))
    named = ", ".join(f"{name} {size}" for name, size in ordered[:limit])
    rest = ordered[limit:]
    if rest:
        named += f" +{len(rest)} more ({sum(size for _, size in rest)} images)"
    return named or "none"


def _with_footer(event_type: str, lines: Sequence[str], link: str = "") -> str:
    body = [line for line in lines if line]
    if link:
        body.append(f"Open: {link}")
    body.append(f"(pixclass event: {event_type})")
    return "\n".join(body)


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}es" if word.endswith("s") else f"{count} {word}s"


def _metrics_line(metrics: Mapping[str, float]) -> str:
    if not metrics:
        return ""
    return "Against the labels: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())


@singledispatch
def _format(event: object) -> Message:
    raise InputError(f"cannot format {type(event).__name__}: not a pixclass notification event")


@_format.register
def _(event: RunFinished) -> Message:
    n_classes = len(event.classes)
    n_images = sum(size for _, size in event.classes)
    lines = [
        f'Run {event.run_id} on "{event.collection}" finished: '
        f"{_plural(n_classes, 'class')} in {_plural(n_images, 'image')}.",
        f"Sizes: {compact_sizes(event.classes)}",
        _metrics_line(event.metrics),
    ]
    attachments: tuple[Attachment, ...] = ()
    if event.montage_png:
        name = f"pixclass-run-{event.run_id}-montage.png"
        attachments = (Attachment(name, event.montage_png, "image/png"),)
    return Message(
        event_type=event.event_type,
        title=f"pixclass: {_plural(n_classes, 'class')} found in {event.collection}",
        body=_with_footer(event.event_type, lines, event.link),
        notify_type="success",
        attachments=attachments,
    )


@_format.register
def _(event: RunFailed) -> Message:
    lines = [f'Run {event.run_id} on "{event.collection}" failed:', event.error.strip()]
    return Message(
        event_type=event.event_type,
        title=f"pixclass: run {event.run_id} on {event.collection} failed",
        body=_with_footer(event.event_type, lines, event.link),
        notify_type="failure",
    )


@_format.register
def _(event: ImagesClassified) -> Message:
    lines = [
        f'{_plural(event.count, "new image")} classified in "{event.collection}".',
        f"Per class: {compact_sizes(event.counts.items())}" if event.counts else "",
    ]
    if event.waiting:
        lines.append(
            f"{_plural(event.waiting, 'image')} added but not classified yet: the collection "
            "has no finished run; they are classified after the first one."
        )
    lines.extend(_skipped_lines(event.skipped))
    return Message(
        event_type=event.event_type,
        title=f"pixclass: {_plural(event.count, 'image')} classified in {event.collection}",
        body=_with_footer(event.event_type, lines, event.link),
        notify_type="warning" if event.skipped else "info",
    )


def _skipped_lines(skipped: Sequence[tuple[str, str]]) -> list[str]:
    if not skipped:
        return []
    lines = [f"Skipped {_plural(len(skipped), 'file')}:"]
    lines += [f"- {name}: {reason}" for name, reason in skipped[:MAX_LISTED]]
    if len(skipped) > MAX_LISTED:
        lines.append(f"- ... and {len(skipped) - MAX_LISTED} more")
    return lines


@_format.register
def _(event: ReviewNeeded) -> Message:
    lines = [
        f'Run {event.run_id} on "{event.collection}" left '
        f"{_plural(event.count, 'image')} with an uncertain class.",
        "A quick look in the review page settles them.",
    ]
    return Message(
        event_type=event.event_type,
        title=f"pixclass: {_plural(event.count, 'image')} to review in {event.collection}",
        body=_with_footer(event.event_type, lines, event.link),
        notify_type="warning",
    )


@_format.register
def _(event: TestMessage) -> Message:
    lines = [
        f"A test message from pixclass on {socket.gethostname()}.",
        "If you can read this, notifications to this target work.",
        event.note,
    ]
    return Message(
        event_type=event.event_type,
        title="pixclass: test notification",
        body=_with_footer(event.event_type, lines),
    )
