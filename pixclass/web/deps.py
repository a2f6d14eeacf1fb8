"""What routes get from the app: its context, the store, and a template renderer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from pixclass.services.collections import Store

if TYPE_CHECKING:
    from pixclass.web.app import AppContext


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.context
    return ctx


def store(request: Request) -> Store:
    return context(request).store


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """A page or fragment, with the session's CSRF token for its forms and htmx requests."""
    principal = getattr(request.state, "principal", None)
    values.setdefault("csrf", principal.csrf if principal is not None else "")
    return context(request).templates.TemplateResponse(
        request, template, values, status_code=status_code
    )


def who(request: Request) -> str:
    """Who makes a correction, for the corrections log: the app's session or an API token."""
    principal = getattr(request.state, "principal", None)
    return f"web ({principal.via})" if principal is not None else "web"
