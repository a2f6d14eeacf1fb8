"""Notification targets: Apprise URLs, the events each one wants, and how they are configured.

Targets come from three places, all untagged unless said otherwise:

* ``Settings.notify_urls`` (``PIXCLASS_NOTIFY_URLS``, comma separated);
* the config file's ``[notify]`` table: ``urls = ["ntfy://...", {url = "...", tags = [...]}]``;
* a collection's settings, as a list of ``{"url": ..., "tags": [...]}`` that the store keeps.
  ``normalise_targets`` checks such a list before it is stored.

A target tagged with event types (``run-finished``, ...) gets only those events; an untagged one
gets them all. Test messages reach every target.

What is stored or shown is the URL as configured, with its ``{secret:NAME}`` placeholders, or
Apprise's privacy form of it (``Target.display``); never a resolved secret.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit

import apprise

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.notify.events import EVENT_TYPES, TestMessage
from pixclass.notify.secretstore import (
    PLACEHOLDER,
    Secrets,
    config_table,
    placeholder_names,
    redact,
    register_secret,
)
from pixclass.notify.urlsecrets import inline_query_secrets, mask_query, query_secret_values

WIKI = "https://github.com/caronc/apprise/wiki"

# Hosts whose service reads only a plain form body: a multipart upload would arrive as noise.
NO_ATTACHMENT_HOSTS = ("notify.run",)

# Query parameters Apprise writes into every URL it prints, dropped from what we show when they
# hold their defaults (``wait`` means nothing without retries).
_SHOWN_DEFAULTS = {"overflow": "upstream", "retry": "0", "optional": "no", "method": "POST"}

_URL_PIECES = re.compile(r"[/:@?&=]")


@dataclass(frozen=True)
class Target:
    """One place notifications go.

    Attributes
    ----------
    url : str
        The Apprise URL as configured, placeholders unresolved. It may hold an inline password
        (global config only), so it is left out of ``repr``; show ``display`` instead.
    tags : frozenset of str
        Event types this target wants; empty means all of them.
    attach : bool, default=True
        Whether attachments (the run montage) are sent to this target.
    """

    url: str = field(repr=False)
    tags: frozenset[str] = frozenset()
    attach: bool = True

    @cached_property
    def display(self) -> str:
        """The URL in Apprise's privacy form, with placeholders shown as written."""
        try:
            return display_url(self.url)
        except InputError:
            return rough_privacy(self.url)

    @cached_property
    def key(self) -> str:
        """A fingerprint of the URL as configured (placeholders unresolved): the stored record
        of a send finds its target again by it, without holding the URL or any secret."""
        return hashlib.sha256(self.url.encode("utf-8")).hexdigest()

    def wants(self, event_type: str) -> bool:
        return event_type == TestMessage.event_type or not self.tags or event_type in self.tags

    def to_dict(self) -> dict[str, Any]:
        """The stored form: ``{"url": ..., "tags": [...]}`` (and ``"attach": false`` if set)."""
        stored: dict[str, Any] = {"url": self.url, "tags": sorted(self.tags)}
        if not self.attach:
            stored["attach"] = False
        return stored


def parse_target(
    url: str,
    tags: Iterable[str] | str = (),
    attach: bool | None = None,
    *,
    secrets: Secrets | None = None,
) -> Target:
    """Check one target and return it.

    The URL must be one Apprise understands and its placeholders must be well formed. With
    ``secrets``, the URL is also checked with the secrets filled in (some services check the
    shape of a token, which a placeholder cannot pass).
    """
    if not isinstance(url, str) or not url.strip():
        raise InputError(f"a notification target needs a URL, got {url!r}. See {WIKI}")
    url = url.strip()
    target = Target(url=url, tags=_check_tags(tags), attach=_default_attach(url, attach))
    try:
        display_url(url)
    except InputError:
        if secrets is None or not PLACEHOLDER.search(url):
            raise
        load_plugin(secrets.resolve(url), shown=url)
    return target


def load_plugin(url: str, shown: str | None = None) -> Any:
    """The Apprise service object for a URL; ``InputError`` if Apprise cannot use it.

    An error names ``shown`` (default: ``url``), masked, rather than the URL handed to Apprise,
    which may hold filled-in secrets or placeholder markers.
    """
    reason = ""
    try:
        plugin = apprise.Apprise.instantiate(url, suppress_exceptions=False)
    except Exception as exc:  # a plugin's own validation says what is wrong
        plugin, reason = None, str(exc)
    if plugin is None:
        detail = f" ({reason})" if reason else ""
        shown_url = rough_privacy(url if shown is None else shown)
        raise InputError(
            redact(f"not a notification URL Apprise understands: {shown_url}{detail} — see {WIKI}")
        )
    return plugin


def display_url(url: str) -> str:
    """Apprise's privacy form of a configured URL; placeholders stay as written.

    Placeholders are swapped for inert markers before Apprise sees the URL, so no secret value
    is involved at all.
    """
    marked, markers = _mark_placeholders(url)
    shown = _strip_defaults(load_plugin(marked, shown=url).url(privacy=True))
    # Header values and secret-named arguments, which Apprise's privacy form shows in clear.
    shown = mask_query(shown, keep=tuple(markers))
    for marker, placeholder in markers.items():
        shown = shown.replace(marker, placeholder)
    return shown


def inline_secrets(url: str) -> bool:
    """Whether the URL holds a secret written out rather than as a placeholder."""
    marked, markers = _mark_placeholders(url)
    plugin = load_plugin(marked, shown=url)
    hidden = hidden_parts(plugin)
    if inline_query_secrets(marked, tuple(markers)):
        return True
    return any(not any(marker in part for marker in markers) for part in hidden)


def hidden_parts(plugin: Any) -> set[str]:
    """The pieces of a service URL that Apprise masks in its privacy form (its secrets)."""
    full = set(_URL_PIECES.split(plugin.url(privacy=False)))
    shown = set(_URL_PIECES.split(plugin.url(privacy=True)))
    return {piece for piece in full - shown if piece}


def register_hidden_parts(plugin: Any) -> None:
    """Register the URL's masked pieces for log redaction, as written and unquoted."""
    for piece in hidden_parts(plugin):
        register_secret(unquote(piece))
    for value in query_secret_values(plugin.url(privacy=False)):
        register_secret(value)


def rough_privacy(url: str) -> str:
    """A URL Apprise could not parse, with its password and long tokens masked."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password and not PLACEHOLDER.fullmatch(parts.password):
            netloc = netloc.replace(f":{parts.password}@", ":****@")
        masked = url.replace(parts.netloc, netloc, 1) if netloc != parts.netloc else url
    except ValueError:
        masked = url
    masked = mask_query(masked, keep=("{secret:", "${"))
    return re.sub(
        r"(?<![{\w])([A-Za-z0-9_\-]{16,})(?![\w}])", lambda m: f"{m[1][0]}...{m[1][-1]}", masked
    )


# --- configuration -----------------------------------------------------------------------------


def configured_targets(settings: Settings, *, secrets: Secrets | None = None) -> list[Target]:
    """The global targets: ``Settings.notify_urls`` then the config file's ``[notify] urls``."""
    table = config_table(settings.config_file, "notify")
    unknown = set(table) - {"urls"}
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(sorted(unknown))} under [notify] in "
            f"{settings.config_file}; the table holds urls = [...]"
        )
    urls = table.get("urls", [])
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list):
        raise InputError(f"[notify] urls in {settings.config_file} must be a list")
    entries: list[Any] = [*settings.notify_urls, *urls]
    targets = [_target_from_entry(entry, secrets) for entry in entries]
    return _unique(targets)


def normalise_targets(items: Any, *, secrets: Secrets | None = None) -> list[dict[str, Any]]:
    """Check a collection's target list and return it in its stored form.

    ``items`` is a list of URLs or ``{"url": ..., "tags": [...], "attach": bool}`` dicts. Every
    URL must be one Apprise understands, and any password or token in it must be a
    ``{secret:NAME}`` placeholder, since this list is kept in the database.
    """
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError("notification targets must be a list of URLs or {url, tags} objects")
    targets = [_target_from_entry(item, secrets) for item in items]
    for target in targets:
        if _has_inline_secret(target.url, secrets):
            raise InputError(
                f"the notification URL {target.display} holds a password, token or key "
                "written out (the parts shown as **** or x...y). Targets kept with a "
                "collection are stored in the database, so write each such part as a "
                "placeholder, e.g. mailtos://user:{secret:mail}@example.com, and set "
                'PIXCLASS_SECRET_MAIL or mail = "..." under [secrets] in the config file'
            )
    return [target.to_dict() for target in _unique(targets)]


def targets_from_dicts(items: Iterable[Mapping[str, Any]]) -> list[Target]:
    """Targets from their stored form (what ``normalise_targets`` returned)."""
    return [_target_from_entry(dict(item), None, checked=True) for item in items]


def _target_from_entry(entry: Any, secrets: Secrets | None, checked: bool = False) -> Target:
    if isinstance(entry, str):
        return parse_target(entry, secrets=secrets)
    if not isinstance(entry, Mapping) or "url" not in entry:
        raise InputError(
            "a notification target must be a URL or a {url, tags} object, "
            f"got a {type(entry).__name__}"
        )
    unknown = set(entry) - {"url", "tags", "attach"}
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(sorted(unknown))} in a notification target; "
            "known keys: url, tags, attach"
        )
    attach = entry.get("attach")
    if attach is not None and not isinstance(attach, bool):
        raise InputError(f"'attach' of a notification target must be true or false, got {attach!r}")
    if checked:
        url = str(entry["url"])
        return Target(url, _check_tags(entry.get("tags", ())), _default_attach(url, attach))
    return parse_target(entry["url"], entry.get("tags", ()), attach, secrets=secrets)


def _check_tags(tags: Iterable[str] | str | None) -> frozenset[str]:
    if tags is None:
        return frozenset()
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[,\s]+", tags) if t]
    cleaned = frozenset(str(t).strip().lower() for t in tags if str(t).strip())
    unknown = cleaned - set(EVENT_TYPES)
    if unknown:
        raise InputError(
            f"unknown notification event tag(s) {', '.join(sorted(unknown))}; "
            f"use any of {', '.join(EVENT_TYPES)}, or no tags for every event"
        )
    return cleaned


def _default_attach(url: str, attach: bool | None) -> bool:
    if attach is not None:
        return attach
    host = urlsplit(url).hostname or ""
    return host.lower() not in NO_ATTACHMENT_HOSTS


def _has_inline_secret(url: str, secrets: Secrets | None) -> bool:
    try:
        return inline_secrets(url)
    except InputError:
        # The placeholder markers did not pass the service's own checks; compare with the
        # real values instead.
        if secrets is None:
            raise
        plugin = load_plugin(secrets.resolve(url), shown=url)
        values = {secrets.get(n) for n in placeholder_names(url)}
        return any(unquote(part) not in values for part in hidden_parts(plugin))


def _mark_placeholders(url: str) -> tuple[str, dict[str, str]]:
    markers: dict[str, str] = {}

    def marker(match: re.Match[str]) -> str:
        token = f"pixclassplaceholder{len(markers)}x"
        markers[token] = match.group(0)
        return token

    return PLACEHOLDER.sub(marker, url), markers


def _strip_defaults(url: str) -> str:
    base, _, query = url.partition("?")
    if not query:
        return url
    pairs = [p for p in query.split("&") if p]
    values = dict(p.partition("=")[::2] for p in pairs)
    no_retry = values.get("retry", "0") == "0"
    kept = [
        p
        for p in pairs
        if not (
            _SHOWN_DEFAULTS.get(p.partition("=")[0]) == p.partition("=")[2]
            or (p.partition("=")[0] == "wait" and no_retry)
        )
    ]
    return f"{base}?{'&'.join(kept)}" if kept else base


def _unique(targets: list[Target]) -> list[Target]:
    seen: dict[str, Target] = {}
    for target in targets:
        seen.setdefault(target.url, target)
    return list(seen.values())
