"""The one place where errors become HTTP responses.

``PixclassError`` subclasses map to statuses here (the most specific class first). The API gets
``{"detail": message}``; a page gets the error page; an htmx request gets a small message shown
in the page's flash area. Not being logged in sends a page to the login form and an API call a
401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import html
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from pixclass.errors import (
    ConflictError,
    InputError,
    MissingExtraError,
    ModelError,
    NotFoundError,
    PixclassError,
    SchemaError,
)
from pixclass.services.collections import DatabaseUnavailableError
from pixclass.web.auth import CsrfError, NotAuthenticatedError
from pixclass.web.uploads import UploadTooLargeError

STATUSES: list[tuple[type[PixclassError], int]] = [
    (NotAuthenticatedError, 401),
    (CsrfError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (ModelError, 409),
    (UploadTooLargeError, 413),
    (InputError, 400),
    (MissingExtraError, 501),
    (SchemaError, 503),
    (DatabaseUnavailableError, 503),
]

TITLES = {
    400: "That did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Upload too large",
    501: "Not installed",
    503: "Database not ready",
}


def status_for(exc: PixclassError) -> int:
    """The HTTP status of a pixclass error."""
    for cls, status in STATUSES:
        if isinstance(exc, cls):
            return status
    return 400


def wants_json(request: Request) -> bool:
    """API paths answer JSON; pages answer HTML."""
    return request.url.path.startswith("/api/") or request.url.path in ("/openapi.json",)


def register_error_handlers(app: FastAPI, templates: Jinja2Templates) -> None:
    """Install the handler that turns every ``PixclassError`` into a response."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PixclassError)
        return error_response(request, exc, templates)

    async def not_found(request: Request, exc: Exception) -> Response:
        """Unknown paths: an HTML page for people, JSON for the API."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code != 404 or wants_json(request):
            return await http_exception_handler(request, exc)
        values = {"title": TITLES[404], "message": f"There is no page at {request.url.path}."}
        return templates.TemplateResponse(request, "error.html", values, status_code=404)

    app.add_exception_handler(PixclassError, handle)
    app.add_exception_handler(StarletteHTTPException, not_found)


def error_response(request: Request, exc: PixclassError, templates: Jinja2Templates) -> Response:
    status = status_for(exc)
    message = str(exc)
    if wants_json(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    htmx = request.headers.get("HX-Request") == "true"
    if status == 401:
        login = f"/login?next={quote(_current_path(request), safe='/')}"
        if htmx:
            return Response(status_code=401, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303)
    if htmx:
        fragment = f'<div class="flash error" role="alert">{html.escape(message)}</div>'
        return HTMLResponse(
            fragment,
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": TITLES.get(status, "Error"), "message": message, "status": status},
        status_code=status,
    )


def _current_path(request: Request) -> str:
    shown = urlsplit(request.headers.get("HX-Current-URL", ""))  # the page an htmx write came from
    if shown.path:
        return shown.path + (f"?{shown.query}" if shown.query else "")
    path = request.url.path
    if request.method == "GET" and request.url.query:
        path += "?" + request.url.query
    return path if request.method == "GET" else "/"
