"""Send events to targets through Apprise; never raise, return one result per target.

Each target gets its own Apprise object, so each gets its own outcome, its own retries and its own
error text. Targets are sent to concurrently, so one slow or dead service does not hold the rest.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apprise

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.notify.addresses import guarded_connections
from pixclass.notify.events import Event, TestMessage
from pixclass.notify.failures import Failure, capture_apprise_logs, describe_failure
from pixclass.notify.format import Attachment, Message, format_event
from pixclass.notify.secretstore import Secrets, install_log_redaction, redact
from pixclass.notify.targets import (
    Target,
    configured_targets,
    load_plugin,
    register_hidden_parts,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """The outcome of sending one event to one target.

    Attributes
    ----------
    target : str
        The target in Apprise's privacy form (safe to store and show).
    event_type : str
        ``run-finished``, ``run-failed``, ``images-classified``, ``review-needed`` or ``test``.
    ok : bool
        Whether the service accepted the message.
    error : str or None
        Why not, in the server's words where it gave any (an SMTP reply, an HTTP status and body).
    attempts : int
        Tries made; 0 when the target could not be built (a missing secret, a bad URL).
    sent_at : datetime
        When the first try started (UTC).
    duration : float
        Seconds from the first try to the last answer, waits between retries included.
    retryable : bool
        Failed, but for a reason a later try may cure (the service was down or slow); False
        when it succeeded or failed for good (a refused login, a refused address, a bad URL).
    target_key : str
        ``Target.key`` of the target: finds it again to resend, and never holds a secret.
    """

    target: str
    event_type: str
    ok: bool
    error: str | None
    attempts: int
    sent_at: datetime
    duration: float
    retryable: bool = False
    target_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, one per column of a store table."""
        row = asdict(self)
        row["sent_at"] = self.sent_at.isoformat()
        return row


ResultHook = Callable[[SendResult], None]


class Notifier:
    """Sends events to a fixed set of targets.

    Parameters
    ----------
    targets : sequence of Target
        Where to send; each event goes to the targets whose tags want it.
    secrets : Secrets, optional
        Values for the targets' ``{secret:NAME}`` placeholders.
    retries : int, default=3
        Extra tries after a transient failure (a dropped connection, a timeout, HTTP 5xx or 429,
        SMTP 4xx). Permanent failures (a refused login such as SMTP 535, other HTTP 4xx, a bad
        URL) are not retried.
    backoff : float, default=0.5
        Seconds before the first retry; each later wait doubles.
    timeout : float, default=30.0
        Seconds one try may take before it counts as a (transient) failure.
    max_workers : int, default=8
        Targets sent to at the same time.
    on_result : callable, optional
        Called with every ``SendResult`` as it comes in, in the calling thread, e.g. to store
        it. An exception it raises is logged and otherwise ignored.
    storage_dir : Path, optional
        Where Apprise may keep state between runs (Office 365 tokens); None keeps it in memory.
    allow_private : bool, default=False
        Whether a send may connect to loopback and private-network addresses (see
        ``pixclass.notify.addresses``); link-local and cloud-metadata ones are refused always.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        secrets: Secrets | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 30.0,
        max_workers: int = 8,
        on_result: ResultHook | None = None,
        storage_dir: Path | None = None,
        allow_private: bool = False,
    ) -> None:
        self.targets = list(targets)
        self.secrets = secrets if secrets is not None else Secrets()
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.max_workers = max_workers
        self.on_result = on_result
        self.storage_dir = storage_dir
        self.allow_private = allow_private

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        extra_targets: Sequence[Target] = (),
        *,
        environ: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Notifier:
        """The global targets of ``settings`` plus ``extra_targets`` (a collection's own)."""
        secrets = Secrets.load(settings, environ)
        targets = configured_targets(settings, secrets=secrets)
        known = {t.url for t in targets}
        targets += [t for t in extra_targets if t.url not in known]
        options.setdefault("allow_private", settings.notify_allow_private)
        return cls(targets, secrets=secrets, **options)

    def send(self, event: Event) -> list[SendResult]:
        """Send ``event`` to every target that wants it; one result per such target, in order."""
        chosen = [t for t in self.targets if t.wants(event.event_type)]
        if not chosen:
            return []
        install_log_redaction()
        try:
            message = format_event(event)
        except Exception as exc:
            error = redact(f"could not format the {event.event_type} message: {exc}")
            return [self._report(self._unsent(t, event.event_type, error)) for t in chosen]
        with contextlib.ExitStack() as stack:
            try:
                paths = stack.enter_context(_attachment_files(message.attachments))
            except OSError as exc:  # no room for a temporary file: the text still goes out
                log.warning("could not prepare attachments (%s); sending without them", exc)
                paths = []
            results = self._deliver_all(chosen, message, paths)
        return results

    def resend(self, target: Target, message: Message) -> SendResult:
        """Send an already formatted message (attachments left out) to one target, now."""
        install_log_redaction()
        try:
            result = self._deliver(target, message, [])
        except Exception as exc:  # as in send: a bug here must still not reach the caller
            result = self._unsent(target, message.event_type, redact(f"internal error: {exc!r}"))
        return self._report(result)

    def _deliver_all(
        self, chosen: list[Target], message: Message, paths: list[str]
    ) -> list[SendResult]:
        workers = max(1, min(self.max_workers, len(chosen)))
        results: list[SendResult | None] = [None] * len(chosen)
        with ThreadPoolExecutor(workers, thread_name_prefix="pixclass-notify") as pool:
            futures = {
                pool.submit(self._deliver, t, message, paths): i for i, t in enumerate(chosen)
            }
            for future in as_completed(futures):
                index = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # a bug here must still not reach the caller
                    error = redact(f"internal error while sending: {exc!r}")
                    result = self._unsent(chosen[index], message.event_type, error)
                results[index] = self._report(result)
        return [r for r in results if r is not None]

    def _report(self, result: SendResult) -> SendResult:
        if result.ok:
            log.info("sent %s to %s", result.event_type, result.target)
        else:
            log.warning(
                "could not send %s to %s after %d attempt(s): %s",
                result.event_type,
                result.target,
                result.attempts,
                result.error,
            )
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:
                log.exception("the on_result hook failed for %s", result.target)
        return result

    def _unsent(self, target: Target, event_type: str, error: str) -> SendResult:
        now = datetime.now(UTC)
        return SendResult(
            target.display, event_type, False, error, 0, now, 0.0, target_key=target.key
        )

    def _deliver(self, target: Target, message: Message, paths: list[str]) -> SendResult:
        """Try one target until it succeeds, fails for good, or runs out of retries."""
        try:
            url = self.secrets.resolve(target.url)
            register_hidden_parts(load_plugin(url, shown=target.url))
        except Exception as exc:  # a missing secret or a URL Apprise no longer accepts
            return self._unsent(target, message.event_type, redact(str(exc)))
        sent_at, started = datetime.now(UTC), time.monotonic()
        attempts, failure = 0, None
        for attempts in range(1, self.retries + 2):
            failure = self._attempt(url, target.url, message, paths if target.attach else [])
            if failure is None or failure.permanent or attempts > self.retries:
                break
            time.sleep(self.backoff * 2 ** (attempts - 1))
        # A test send may go to any server at all: its answer is not repeated to the caller.
        detail = message.event_type != TestMessage.event_type
        return SendResult(
            target=target.display,
            event_type=message.event_type,
            ok=failure is None,
            error=None if failure is None else failure.describe(with_detail=detail),
            attempts=attempts,
            sent_at=sent_at,
            duration=round(time.monotonic() - started, 4),
            retryable=failure is not None and not failure.permanent,
            target_key=target.key,
        )

    def _attempt(
        self, url: str, target_url: str, message: Message, paths: list[str]
    ) -> Failure | None:
        """One try; None on success. A fresh service object each time, so Apprise's own
        per-object throttle (5.5 s for many services) does not add to our backoff."""
        try:
            sender = apprise.Apprise(asset=self._asset())
            sender.add(load_plugin(url, shown=target_url))
            attach = apprise.AppriseAttachment(paths) if paths else None
            with (
                capture_apprise_logs() as entries,
                guarded_connections(self.allow_private) as refused,
            ):
                result = sender.notify(
                    body=message.body,
                    title=message.title,
                    notify_type=message.notify_type,
                    body_format=apprise.NotifyFormat.TEXT,
                    attach=attach,
                    timeout=self.timeout,
                )
            if result:
                return None
            if refused:
                return Failure(refused[0], permanent=True)
            if result.status == apprise.AppriseResultStatus.TIMEOUT:
                return Failure(f"no answer within {self.timeout:g} s", permanent=False)
            return describe_failure(entries)
        except InputError as exc:
            return Failure(redact(str(exc)), permanent=True)
        except Exception as exc:
            return Failure(redact(f"{type(exc).__name__}: {exc}"), permanent=False)

    def _asset(self) -> apprise.AppriseAsset:
        return apprise.AppriseAsset(
            app_id="pixclass",
            app_desc="pixclass notifications",
            storage_path=str(self.storage_dir) if self.storage_dir else None,
        )


@contextlib.contextmanager
def _attachment_files(attachments: Sequence[Attachment]) -> Iterator[list[str]]:
    """Write attachments to a private temporary folder for Apprise to read; removed after."""
    if not attachments:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="pixclass-notify-") as folder:
        paths = []
        for attachment in attachments:
            path = Path(folder) / Path(attachment.filename).name
            path.write_bytes(attachment.content)
            paths.append(str(path))
        yield paths
