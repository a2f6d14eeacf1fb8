"""Notifications: events -> messages -> Apprise targets, one stored result per target.

    from pixclass.notify import Notifier, RunFinished, run_link

    notifier = Notifier.from_settings(settings, on_result=store_send_result)
    notifier.send(RunFinished("birds", 12, [("sparrow", 40), ("crow", 31)],
                              link=run_link(settings.base_url, 12)))

See docs/notifications.md for the services and how to set them up.
"""

from __future__ import annotations

import logging

from pixclass.notify.events import (
    EVENT_TYPES,
    Event,
    ImagesClassified,
    ReviewNeeded,
    RunFailed,
    RunFinished,
    TestMessage,
    run_link,
)
from pixclass.notify.format import Attachment, Message, format_event, montage_png
from pixclass.notify.notifier import Notifier, ResultHook, SendResult
from pixclass.notify.secretstore import Secrets
from pixclass.notify.targets import (
    Target,
    configured_targets,
    normalise_targets,
    parse_target,
    targets_from_dicts,
)

# A library logs; the application decides where it goes (no "No handlers" fallback to stderr).
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "EVENT_TYPES",
    "Attachment",
    "Event",
    "ImagesClassified",
    "Message",
    "Notifier",
    "ResultHook",
    "ReviewNeeded",
    "RunFailed",
    "RunFinished",
    "Secrets",
    "SendResult",
    "Target",
    "TestMessage",
    "configured_targets",
    "format_event",
    "montage_png",
    "normalise_targets",
    "parse_target",
    "run_link",
    "targets_from_dicts",
]
