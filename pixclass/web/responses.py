"""Small response helpers shared by the page routes."""

from __future__ import annotations

import html
from collections.abc import Iterable

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def go_to(request: Request, url: str) -> Response:
    """After a form: htmx loads ``url`` as a full page, a plain form is redirected there."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def flash(message: str, *, removed: Iterable[str] = (), kind: str = "ok") -> HTMLResponse:
    """A message for the page's flash area; elements with the ``removed`` ids leave the page."""
    parts = [f'<div class="flash {kind}" role="status">{html.escape(message)}</div>']
    parts += [f'<div id="{html.escape(i)}" hx-swap-oob="delete"></div>' for i in removed]
    return HTMLResponse("".join(parts))
