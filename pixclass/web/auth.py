"""Who may use the app: one token (``Settings.app_token``, else generated once and kept in the data
dir), given at a login page (which sets a signed session cookie) or as ``Authorization: Bearer``.

Requests authenticated by the cookie must prove they come from our own pages on every unsafe
method (CSRF): the session holds a random token that our pages send back as the ``X-CSRF-Token``
header (htmx, fetch) or a ``csrf_token`` form field (plain forms). A bearer token cannot be sent
by another site's page, so bearer requests need no such proof.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from pixclass.config import Settings
from pixclass.errors import PixclassError

TOKEN_FILE = "app-token"
SESSION_COOKIE = "pixclass_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = 30 * 24 * 3600
FAILED_TOKEN_DELAY = 0.5  # seconds, the same as a failed login
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NotAuthenticatedError(PixclassError):
    """No valid session cookie or bearer token came with the request."""


class CsrfError(PixclassError):
    """An unsafe request with a session cookie but without the page's CSRF token."""


@dataclass(frozen=True)
class AppToken:
    """The app's token and whether it was generated just now (so the caller prints it)."""

    value: str
    created: bool
    path: Path | None


def resolve_app_token(settings: Settings) -> AppToken:
    """``Settings.app_token``, else the token kept in ``<data_dir>/app-token`` (made on first use,
    readable by its owner only)."""
    if settings.app_token:
        return AppToken(settings.app_token, False, None)
    path = settings.data_dir / TOKEN_FILE
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return AppToken(value, False, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    temp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (value + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    return AppToken(value, True, path)


@dataclass(frozen=True)
class Principal:
    """An authenticated request: how it was authenticated and, for a session, its CSRF token."""

    via: str  # "session" or "bearer"
    csrf: str


class Sessions:
    """Checks tokens and signs session cookies. The signing key derives from the token, so a new
    token ends every session made with the old one."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        key = hmac.new(self._token, b"pixclass-session-key", hashlib.sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(key, salt="pixclass-session")

    def token_matches(self, given: str) -> bool:
        # Digests of equal length, so the time taken says nothing about the token's length.
        given_digest = hashlib.sha256(given.strip().encode()).digest()
        return hmac.compare_digest(given_digest, hashlib.sha256(self._token).digest())

    def new_cookie(self) -> str:
        return self._serializer.dumps({"csrf": secrets.token_urlsafe(24)})

    def read_cookie(self, cookie: str | None) -> str | None:
        """The CSRF token of a valid session cookie, else None."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        csrf = data.get("csrf") if isinstance(data, dict) else None
        return csrf if isinstance(csrf, str) else None


async def authenticate(request: Request, sessions: Sessions) -> Principal:
    """The principal of a request, or ``NotAuthenticatedError`` / ``CsrfError``."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and sessions.token_matches(value):
            return Principal("bearer", "")
        # As slow as a failed login, so the API is no faster a way to guess the token.
        await asyncio.sleep(FAILED_TOKEN_DELAY)
        raise NotAuthenticatedError("the bearer token is not the app's token")
    csrf = sessions.read_cookie(request.cookies.get(SESSION_COOKIE))
    if csrf is None:
        raise NotAuthenticatedError("log in first (or send Authorization: Bearer <token>)")
    if request.method not in SAFE_METHODS and not await _csrf_given(request, csrf):
        raise CsrfError(
            "this form was not sent by a pixclass page of this session (CSRF check failed); "
            "reload the page and try again"
        )
    return Principal("session", csrf)


async def _csrf_given(request: Request, csrf: str) -> bool:
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    # Multipart bodies are streamed to disk by the upload routes, so they must use the header;
    # reading the form here would load them into memory first.
    if given is None and content_type.startswith(FORM_TYPES[0]):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return given is not None and hmac.compare_digest(given.encode(), csrf.encode())


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (no ``//host`` or scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
