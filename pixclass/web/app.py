"""``create_app(settings)``: the pixclass web application.

One factory builds the app from a ``Settings``: it opens the store, resolves the access token,
mounts the static files, installs the error handlers (``errors.py``, the one place that maps
``PixclassError`` subclasses to statuses) and includes every page's router. Every route but the
login page and the static files needs a session cookie or ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

import pixclass
from pixclass.config import Settings
from pixclass.services.collections import Store, open_store
from pixclass.services.models import warm_newest_runs
from pixclass.web.auth import Principal, Sessions, authenticate, resolve_app_token
from pixclass.web.deps import AppContext, render
from pixclass.web.errors import register_error_handlers
from pixclass.web.hardening import EdgeChecks, SecurityHeaders, register_parse_error_handlers
from pixclass.web.live import install_live
from pixclass.web.templating import make_templates
from pixclass.web.uploads import remove_stale_uploads

HERE = Path(__file__).parent


def create_app(
    settings: Settings, *, store: Store | None = None, warm_models: bool = False
) -> FastAPI:
    """The web application for ``settings`` (a given ``store`` is used instead of opening one).

    ``warm_models``: when the app starts, load the newest runs' models in a background thread
    (``pixclass serve`` does), so that no person's first request waits for them.
    """
    settings.ensure_dirs()
    remove_stale_uploads(settings)  # left by a server killed mid-upload
    opened = store if store is not None else open_store(settings)
    token = resolve_app_token(settings)
    templates = make_templates(HERE / "templates")
    context = AppContext(
        settings=settings,
        store=opened,
        token=token,
        sessions=Sessions(token.value),
        templates=templates,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_models:
            app.state.warming = threading.Thread(
                target=warm_newest_runs, args=(opened,), name="pixclass-warm", daemon=True
            )
            app.state.warming.start()
        yield
        if store is None:
            opened.close()

    app = FastAPI(
        title="pixclass",
        version=pixclass.__version__,
        description="Discover classes in unlabeled images; review, name and fix them.",
        lifespan=lifespan,
        docs_url=None,  # served below from local files: Swagger UI's CDN is unreachable offline
        openapi_url=None,  # served below, behind the token like every other route
        redoc_url=None,  # ReDoc only comes from a CDN: blank offline, so not offered
    )
    app.state.context = context
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    register_error_handlers(app, templates)
    register_parse_error_handlers(app, templates)
    # Added last runs first: the headers go on every answer, the checks' refusals included.
    app.add_middleware(EdgeChecks, templates=templates)
    app.add_middleware(SecurityHeaders)
    _include_routers(app)
    protected = [Depends(require_user)]
    install_live(app, templates, protected)

    @app.get("/openapi.json", include_in_schema=False, dependencies=protected)
    async def openapi_schema() -> JSONResponse:
        return JSONResponse(with_bearer_scheme(app.openapi()))

    @app.get("/docs", include_in_schema=False, dependencies=protected)
    async def api_docs(request: Request) -> HTMLResponse:
        return render(request, "docs.html")

    return app


def with_bearer_scheme(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema saying every operation takes the app's token as a bearer token, which gives
    /docs its Authorize button (the routes check it themselves, in ``require_user``)."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["appToken"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The app's token: the one the login page asks for "
        "(PIXCLASS_APP_TOKEN, else <data dir>/app-token).",
    }
    schema["security"] = [{"appToken": []}]
    return schema


async def require_user(request: Request) -> Principal:
    """The dependency on every protected route: authenticate, and check CSRF for forms."""
    context: AppContext = request.app.state.context
    principal = await authenticate(request, context.sessions)
    request.state.principal = principal
    return principal


def _include_routers(app: FastAPI) -> None:
    from pixclass.web.routes import (
        classes,
        classify,
        collections,
        export,
        images,
        learning,
        login,
        map,
        notifications,
        review,
        runs,
        upload,
    )

    app.include_router(login.router)
    protected = [Depends(require_user)]
    for module in (
        collections,
        upload,
        runs,
        classes,
        map,
        images,
        review,
        classify,
        export,
        notifications,
        learning,
    ):
        _name_operations(module.api)
        app.include_router(module.pages, dependencies=protected)
        app.include_router(module.api, prefix="/api", dependencies=protected)


def _name_operations(router: APIRouter) -> None:
    """Let /docs say "Rename" rather than the function's name ("Rename Api")."""
    for route in router.routes:
        if isinstance(route, APIRoute) and not route.summary:
            route.summary = route.name.removesuffix("_api").replace("_", " ").capitalize()
