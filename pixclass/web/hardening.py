"""What the whole app does to every request and response, whatever the route.

- ``EdgeChecks``: ids and numbers in the path, the query and JSON or form bodies must fit in 64
  bits, and text may hold no control characters (names: none at all; free text: tabs and line
  breaks only). Checked here once, before any route runs, so SQLite and PostgreSQL see the same
  values and answer the same way (a 404 for an id no row can have, else a 400 naming the value).
- ``SecurityHeaders``: a Content-Security-Policy (our own scripts only, no framing), plus
  ``X-Frame-Options``, ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy``.
- ``register_parse_error_handlers``: a multipart body that cannot be parsed is a 400 that says so,
  and a value a database refuses is a 400, not a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates
from python_multipart.exceptions import FormParserError
from sqlalchemy.exc import DataError, StatementError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixclass.errors import InputError, NotFoundError
from pixclass.validation import INT64_MAX, int64_problem, is_name_key, text_problem, value_problems
from pixclass.web.errors import error_response

# JSON and form bodies are read whole to be checked; larger ones are refused (uploads are
# multipart, streamed, and not read here).
MAX_CHECKED_BODY = 4 * 1024 * 1024
_INTEGER = re.compile(r"[+-]?\d+")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI starts itself with an inline script.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
DOCS_PATHS = ("/docs",)


class SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope.get("path") in DOCS_PATHS else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"content-security-policy", policy.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class EdgeChecks:
    """Refuses ids, numbers and text that no route could use (see the module docstring)."""

    def __init__(self, app: ASGIApp, templates: Jinja2Templates) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = path_problem(scope) or query_problem(scope)
        if error is None and _checked_body(scope):
            body, receive = await _buffer_body(receive)
            error = body_problem(scope, body)
        if error is not None:
            response = error_response(Request(scope), error, self.templates)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def path_problem(scope: Scope) -> InputError | NotFoundError | None:
    path = scope.get("path", "")
    for part in path.split("/"):
        if _INTEGER.fullmatch(part) and int64_problem(int(part)):
            return NotFoundError(f"nothing has the id {part}: ids are at most {INT64_MAX}")
        problem = text_problem(part, is_name=True)
        if problem:
            return InputError(f"the address {path!r} {problem}")
    return None


def query_problem(scope: Scope) -> InputError | None:
    query = scope.get("query_string", b"").decode("latin-1")
    return _pairs_problem(parse_qsl(query, keep_blank_values=True), "query parameter")


def _pairs_problem(pairs: list[tuple[str, str]], what: str) -> InputError | None:
    for key, value in pairs:
        if _INTEGER.fullmatch(value.strip()) and int64_problem(int(value)):
            return InputError(f"{what} {key}: {int64_problem(int(value))}")
        problem = text_problem(key, is_name=True) or text_problem(value, is_name=is_name_key(key))
        if problem:
            return InputError(f"{what} {key!r} {problem}")
    return None


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1").split(";")[0].strip().lower())
    return ""


def _checked_body(scope: Scope) -> bool:
    return scope.get("method") in ("POST", "PUT", "PATCH", "DELETE") and _content_type(scope) in (
        "application/json",
        "application/x-www-form-urlencoded",
    )


async def _buffer_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (None when over ``MAX_CHECKED_BODY``), and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_CHECKED_BODY:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def body_problem(scope: Scope, body: bytes | None) -> InputError | None:
    if body is None:
        return InputError(f"the request body is over {MAX_CHECKED_BODY // 1024 // 1024} MiB")
    if _content_type(scope) == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", "replace")
        return _pairs_problem(parse_qsl(text, keep_blank_values=True), "form field")
    if not body.strip():
        return None  # the route says what it wanted
    try:
        parsed = json.loads(body)
    except ValueError:
        return None  # FastAPI answers malformed JSON with its own 422
    problems = list(value_problems(parsed))
    return InputError("; ".join(problems[:5])) if problems else None


def register_parse_error_handlers(app: FastAPI, templates: Jinja2Templates) -> None:
    """A broken multipart body, or a value a database refuses, is a 400 that says what."""

    async def multipart(request: Request, exc: Exception) -> Any:
        error = InputError(
            f"the multipart form could not be read ({exc}); send the files again as "
            "multipart/form-data, with file names under a few hundred characters"
        )
        return error_response(request, error, templates)

    async def refused(request: Request, exc: Exception) -> Any:
        error = InputError(
            "a value in the request cannot be stored (a number beyond 64 bits, or a character "
            "the database refuses); check the ids and names sent"
        )
        return error_response(request, error, templates)

    async def statement(request: Request, exc: Exception) -> Any:
        if isinstance(exc, StatementError) and isinstance(exc.orig, OverflowError):
            return await refused(request, exc)
        raise exc

    app.add_exception_handler(FormParserError, multipart)
    app.add_exception_handler(DataError, refused)
    app.add_exception_handler(OverflowError, refused)
    app.add_exception_handler(StatementError, statement)
