"""Secrets for notification URLs, kept out of the URLs themselves.

A target URL names a secret with a placeholder, ``{secret:gmail}`` or ``${gmail}``; the value comes
from the environment variable ``PIXCLASS_SECRET_GMAIL`` or from the config file::

    [secrets]
    gmail = "abcd efgh ijkl mnop"

Values are URL-quoted when substituted, so passwords with ``@ % ; # /`` work as typed. Only the
unresolved URL is ever stored or shown. Every value resolved here is also registered with a log
filter on the ``apprise`` and ``urllib3`` loggers that replaces it with ``****``, in case a
library logs a request line or a header that carries it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from pixclass.config import Settings
from pixclass.errors import InputError

ENV_PREFIX = "PIXCLASS_SECRET_"

# {secret:NAME} or ${NAME}; NAME is what an environment variable name may hold.
PLACEHOLDER = re.compile(r"\{secret:([A-Za-z_][A-Za-z0-9_]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

MASK = "****"

# Shorter values are not redacted from logs: replacing every "ab" would shred the text.
MIN_REDACTED_LENGTH = 4


def placeholder_names(url: str) -> list[str]:
    """The secret names a URL refers to, in order of appearance."""
    return [m.group(1) or m.group(2) for m in PLACEHOLDER.finditer(url)]


def config_table(config_file: Path | None, name: str) -> dict[str, Any]:
    """A top-level table (``[name]`` or ``[pixclass.name]``) of the TOML config file, or {}."""
    if config_file is None or not Path(config_file).is_file():
        return {}
    try:
        raw = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(
            f"cannot read config file {config_file}: {exc}. Fix or remove it."
        ) from exc
    table = raw.get(name, raw.get("pixclass", {}).get(name, {}))
    if not isinstance(table, dict):
        raise InputError(f"'{name}' in {config_file} must be a table ([{name}])")
    return table


class Secrets:
    """Named secret values. Their repr shows names only.

    Build one at an entry point with ``Secrets.load(settings)``; tests pass a dict.
    """

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values = {name.upper(): str(v) for name, v in (values or {}).items()}

    @classmethod
    def load(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> Secrets:
        """Secrets from the config file's ``[secrets]`` table, then ``PIXCLASS_SECRET_*``."""
        values: dict[str, str] = {}
        for name, value in config_table(settings.config_file, "secrets").items():
            if not isinstance(value, str):
                raise InputError(
                    f"secret {name!r} in {settings.config_file} must be a string; quote it"
                )
            values[name.upper()] = value
        env = os.environ if environ is None else environ
        for key, value in env.items():
            if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX):
                values[key[len(ENV_PREFIX) :].upper()] = value
        return cls(values)

    def names(self) -> list[str]:
        return sorted(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self._values

    def __repr__(self) -> str:
        return f"Secrets(names={self.names()!r})"

    def get(self, name: str) -> str:
        """The value of a secret; an ``InputError`` that says where to set it if it is missing."""
        try:
            return self._values[name.upper()]
        except KeyError:
            raise InputError(
                f"the notification secret {name!r} is not set: set the environment variable "
                f'{ENV_PREFIX}{name.upper()} or add {name} = "..." under [secrets] in the '
                "config file"
            ) from None

    def resolve(self, url: str) -> str:
        """The URL with each placeholder replaced by its URL-quoted value.

        The values are registered for log redaction before the URL is returned.
        """

        def substitute(match: re.Match[str]) -> str:
            value = self.get(match.group(1) or match.group(2))
            register_secret(value)
            return quote(value, safe="")

        return PLACEHOLDER.sub(substitute, url)


# --- redaction -------------------------------------------------------------------------------

_registry_lock = threading.Lock()
_registry: set[str] = set()
_registry_sorted: tuple[str, ...] = ()


def register_secret(value: str) -> None:
    """Remember a secret so ``redact`` and the log filter hide it, as typed and as URL-quoted."""
    global _registry_sorted
    forms = {value, quote(value, safe=""), quote(value), unquote(value)}
    forms = {f for f in forms if len(f) >= MIN_REDACTED_LENGTH}
    with _registry_lock:
        if forms <= _registry:
            return
        _registry.update(forms)
        # Longest first, so a secret that contains another is masked whole.
        _registry_sorted = tuple(sorted(_registry, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``****``."""
    for secret in _registry_sorted:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a log record whose message contains a registered secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _registry_sorted:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Loggers that may print a request line, a header or a URL of a notification service.
REDACTED_LOGGERS = ("apprise", "urllib3.connectionpool", "requests")
_filter = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to the loggers above (once; safe to call again)."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
