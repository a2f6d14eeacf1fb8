"""What routes get from the app, declared once: ``ContextDep`` (the app's context) and
``StoreDep`` (its store) as parameter types, a template renderer, and who is asking.

A route takes what it needs as a parameter (``db: StoreDep``, ``ctx: ContextDep``); it never
fetches them from the request itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from pixclass.config import Settings
from pixclass.services.collections import Store
from pixclass.web.auth import AppToken, Sessions


@dataclass
class AppContext:
    """What every route needs, made once per app."""

    settings: Settings
    store: Store
    token: AppToken
    sessions: Sessions
    templates: Jinja2Templates


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.context
    return ctx


def store(request: Request) -> Store:
    return context(request).store


ContextDep = Annotated[AppContext, Depends(context)]
StoreDep = Annotated[Store, Depends(store)]


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
