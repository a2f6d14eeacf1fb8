"""What went wrong with a send, in the server's own words, and whether trying again can help.

Apprise's plugins return only True/False; the reason is in what they log. The interesting part is
usually at DEBUG: an SMTP login failure is logged as
``Socket Exception: (535, b'5.7.139 Authentication unsuccessful, basic authentication is
disabled')`` under a WARNING that says only "Connection error while submitting email". So while
pixclass sends, ``capture_apprise_logs`` turns the ``apprise`` logger's level down to DEBUG and
collects every record of the current thread, and a filter drops the records below the level the
application had set, so its own log handlers see no more than before.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pixclass.notify.secretstore import redact

LogEntry = tuple[int, str]

_SMTP_REPLY = re.compile(r"\((\d{3}), (b?'(?:[^'\\]|\\.)*'|b?\"(?:[^\"\\]|\\.)*\")\)")
_SMTP_REFUSED = re.compile(r"SMTP recipient .* was refused: (\d{3}) (.*)")
_HTTP_STATUS = re.compile(r"error=(\d{3})\b")
_RESPONSE = re.compile(r"Response Details:\s*(b?'.*'|b?\".*\")\s*$", re.S)
_CERT_REASON = re.compile(r"certificate verify failed: ([^'\"()\]]+)", re.I)
_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")\]]*|timed out|Read timed out")

# HTTP statuses that a later try can cure: timeouts, rate limits, server trouble.
_HTTP_TRANSIENT = {408, 425, 429}
MAX_DETAIL = 300


@dataclass(frozen=True)
class Failure:
    """Why a send failed (``text``) and whether a retry can help (``permanent`` is False).

    ``detail`` is what the server answered, where it said anything (an HTTP body): shown for
    real events, left out of test sends, whose target may be any server at all.
    """

    text: str
    permanent: bool
    detail: str = ""

    def describe(self, with_detail: bool = True) -> str:
        if with_detail and self.detail:
            return f"{self.text}; the server said: {self.detail}"
        return self.text


def describe_failure(entries: Sequence[LogEntry]) -> Failure:
    """Read the log records of one failed attempt."""
    messages = [redact(message) for _, message in entries]
    for describe in (_tls_failure, _smtp_failure, _http_failure, _connection_failure):
        failure = describe(messages)
        if failure is not None:
            return failure
    warnings = [redact(m) for level, m in entries if level >= logging.WARNING]
    if warnings:
        return Failure(warnings[-1], permanent=False)
    return Failure("the service reported a failure without saying why", permanent=False)


def _tls_failure(messages: Sequence[str]) -> Failure | None:
    # A certificate the client refuses stays refused: retrying only delays the real answer.
    for message in messages:
        if "certificate verify failed" in message.lower():
            found = _CERT_REASON.search(message)
            detail = f" ({found.group(1).strip()})" if found else ""
            return Failure(
                f"the server's TLS certificate was refused{detail}; fix the certificate, or "
                "for a server you trust add ?verify=no to the URL",
                permanent=True,
            )
    return None


def _smtp_failure(messages: Sequence[str]) -> Failure | None:
    for message in messages:
        refused = _SMTP_REFUSED.search(message)
        match = refused or _SMTP_REPLY.search(message)
        if match is None:
            continue
        code = int(match.group(1))
        text = match.group(2) if refused else _literal_text(match.group(2))
        # SMTP: 5xx replies are permanent (535 is a refused login), 4xx ask to try later.
        return Failure(f"{code} {text}".strip(), permanent=code >= 500)
    return None


def _http_failure(messages: Sequence[str]) -> Failure | None:
    for index, message in enumerate(messages):
        match = _HTTP_STATUS.search(message)
        if match is None:
            continue
        status = int(match.group(1))
        text, detail = message.rstrip("."), ""
        for later in messages[index + 1 :]:
            details = _RESPONSE.search(later)
            if details and (said := _literal_text(details.group(1))):
                detail = said[:MAX_DETAIL]
                break
        permanent = 400 <= status < 500 and status not in _HTTP_TRANSIENT
        return Failure(text, permanent=permanent, detail=detail)
    return None


def _connection_failure(messages: Sequence[str]) -> Failure | None:
    for index, message in enumerate(messages):
        if "connection error" not in message.lower():
            continue
        text = message.rstrip(".")
        for later in messages[index + 1 :]:
            cause = _ERRNO.search(later)
            if cause:
                text += f": {cause.group(0).strip()}"
                break
        return Failure(text, permanent=False)
    return None


def _literal_text(literal: str) -> str:
    """The text of a Python ``b'...'`` or ``'...'`` literal, as a log line printed it."""
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal.strip("b'\"")
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())


# --- capturing Apprise's log records -----------------------------------------------------------

_buffer: contextvars.ContextVar[list[LogEntry] | None] = contextvars.ContextVar(
    "pixclass_notify_log_buffer", default=None
)


class _CaptureFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.threshold = logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        buffer = _buffer.get()
        if buffer is not None:
            # A malformed record must not stop the send.
            with contextlib.suppress(Exception):
                buffer.append((record.levelno, redact(record.getMessage())))
        return record.levelno >= self.threshold


_lock = threading.Lock()
_depth = 0
_saved_level = logging.NOTSET
_capture_filter = _CaptureFilter()


@contextlib.contextmanager
def capture_apprise_logs() -> Iterator[list[LogEntry]]:
    """Collect the ``apprise`` log records made by this thread (and threads it starts) meanwhile.

    Nested and concurrent uses share one level change, undone when the last one ends.
    """
    global _depth, _saved_level
    logger = logging.getLogger("apprise")
    with _lock:
        if _depth == 0:
            _saved_level = logger.level
            _capture_filter.threshold = logger.getEffectiveLevel()
            logger.addFilter(_capture_filter)
            logger.setLevel(logging.DEBUG)
        _depth += 1
    buffer: list[LogEntry] = []
    token = _buffer.set(buffer)
    try:
        yield buffer
    finally:
        _buffer.reset(token)
        with _lock:
            _depth -= 1
            if _depth == 0:
                logger.setLevel(_saved_level)
                logger.removeFilter(_capture_filter)
