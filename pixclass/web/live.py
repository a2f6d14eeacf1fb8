"""Pages that stay true: a version of what a page shows, polled by the page, and stale writes
refused.

A page's version is a short hash of what changes under it: the collection's image count, its
newest run and that run's state, and (on a run's pages) every class's index, name and size. Pages
poll ``GET /live`` and reload their live parts when it changes (a job finished, another tab
moved images). Every write a page makes carries the version it was made against
(``X-Pixclass-Version``); when that is no longer the current one, the write is refused with
"changed in another window — reloaded" (409; for htmx a 200 with ``HX-Trigger: pixclass-stale``,
since htmx logs every 4xx as a console error) instead of silently undoing the other change. The
answer to every write carries the new version. (Checking and writing are two steps, so two
writes in the same few milliseconds can still both pass: the guard is for people, not races.)
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixclass.errors import NotFoundError
from pixclass.services.collections import Store
from pixclass.services.live import version
from pixclass.web.deps import StoreDep

STALE = "This run was changed in another window — reloaded. Check the page and try again."
HEADER = "X-Pixclass-Version"
# The writes a run's pages make (pages and API): they carry the version of the run.
RUN_WRITE = re.compile(
    r"^(?:/api)?/runs/(\d+)/(?:move|merge|confirm|classes/\d+(?:/rename|/split)?)$"
)

router = APIRouter(include_in_schema=False)


def page_version(request: Request, nav: Any) -> str:
    """The version a page was rendered at (a template global)."""
    db: Store = request.app.state.context.store
    if nav.run is not None and request.url.path.startswith(("/runs/", "/images/")):
        return version(db, run_id=nav.run.id)
    return version(db, collection_id=nav.collection.id)


def live_url(request: Request, nav: Any) -> str:
    """Where a page polls its version: the run's for a run's pages, else the collection's."""
    if nav.run is not None and request.url.path.startswith(("/runs/", "/images/")):
        return f"/live?run={nav.run.id}"
    return f"/live?collection={nav.collection.id}"


@router.get("/live")
def live(db: StoreDep, run: int | None = None, collection: int | None = None) -> dict[str, str]:
    return {"version": version(db, run_id=run, collection_id=collection)}


class StaleWriteGuard:
    """Refuse a run's write made against an older version; tell every write the new one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = RUN_WRITE.match(scope.get("path", "")) if scope["type"] == "http" else None
        headers = dict(scope.get("headers", [])) if found else {}
        sent = headers.get(HEADER.lower().encode())
        signed_in = b"authorization" in headers or b"cookie" in headers
        if found is None or sent is None or scope["method"] == "GET" or not signed_in:
            await self.app(scope, receive, send)
            return
        db: Store = scope["app"].state.context.store
        run_id = int(found.group(1))
        try:
            now = await anyio.to_thread.run_sync(lambda: version(db, run_id=run_id))
        except NotFoundError:
            now = ""
        if now and now != sent.decode():
            await _refuse(send, htmx=headers.get(b"hx-request") == b"true", current=now)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                new = await anyio.to_thread.run_sync(lambda: version(db, run_id=run_id))
                message["headers"] = [
                    *message.get("headers", []),
                    (HEADER.lower().encode(), new.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_version)


async def _refuse(send: Send, *, htmx: bool, current: str) -> None:
    status = 409
    if htmx:  # shown in the page's flash area; the page then reloads its live parts
        status = 200  # htmx and the browser log every 4xx as a console error; this one is handled
        body = f'<div class="flash error" role="alert">{html.escape(STALE)}</div>'.encode()
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"hx-retarget", b"#flash"),
            (b"hx-reswap", b"innerHTML"),
            (b"hx-trigger", b"pixclass-stale"),
        ]
    else:
        body = json.dumps({"detail": STALE}).encode()
        headers = [(b"content-type", b"application/json")]
    headers.append((HEADER.lower().encode(), current.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_live(app: FastAPI, templates: Jinja2Templates, protected: list[Any]) -> None:
    """The poll endpoint, the stale-write guard and the template globals pages use."""
    app.include_router(router, dependencies=protected)
    app.add_middleware(StaleWriteGuard)
    templates.env.globals["page_version"] = page_version
    templates.env.globals["live_url"] = live_url
