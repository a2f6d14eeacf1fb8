"""Notifications: a collection's own targets (shown only in their privacy form: secrets never
leave the server), a test message, and the recorded result of every send."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from pixclass.notify import EVENT_TYPES, Target, TestMessage
from pixclass.services.collections import collection_by_id
from pixclass.services.pages import nav
from pixclass.services.retries import resend
from pixclass.services.targets import (
    add_collection_target,
    collection_targets,
    list_sends,
    remove_collection_target,
    send_event,
)
from pixclass.web.deps import ContextDep, StoreDep, render
from pixclass.web.responses import go_to
from pixclass.web.schemas import SendOut, TargetIn, TargetOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["notifications"])

SENDS_SHOWN = 50


@pages.get("/collections/{collection_id}/notifications")
def notifications_page(request: Request, db: StoreDep, collection_id: int) -> Response:
    where = nav(db, collection_id=collection_id)
    name = where.collection.name
    return render(
        request,
        "notifications.html",
        nav=where,
        targets=collection_targets(db, name),
        sends=list_sends(db, name, SENDS_SHOWN),
        events=[e for e in EVENT_TYPES if e != TestMessage.event_type],
        tab="notifications",
    )


@pages.post("/collections/{collection_id}/notifications")
def add_target_page(
    request: Request,
    ctx: ContextDep,
    collection_id: int,
    url: str = Form(...),
    tags: list[str] = Form(default=[]),
) -> Response:
    name = collection_by_id(ctx.store, collection_id).name
    add_collection_target(ctx.store, ctx.settings, name, url, tags)
    return go_to(request, f"/collections/{collection_id}/notifications")


@pages.post("/collections/{collection_id}/notifications/remove")
def remove_target_page(
    request: Request, db: StoreDep, collection_id: int, number: int = Form(...)
) -> Response:
    remove_collection_target(db, collection_by_id(db, collection_id).name, str(number))
    return go_to(request, f"/collections/{collection_id}/notifications")


@pages.post("/collections/{collection_id}/notifications/test")
def test_page(request: Request, ctx: ContextDep, collection_id: int) -> Response:
    name = collection_by_id(ctx.store, collection_id).name
    results = send_event(ctx.settings, ctx.store, TestMessage(), collection=name, retries=1)
    return render(request, "_sends.html", sends=results, fresh=True)


@pages.post("/collections/{collection_id}/notifications/sends/{send_id}/resend")
def resend_page(request: Request, ctx: ContextDep, collection_id: int, send_id: int) -> Response:
    name = collection_by_id(ctx.store, collection_id).name
    resend(ctx.settings, ctx.store, [send_id], collection=name)
    where = nav(ctx.store, collection_id=collection_id)
    sends = list_sends(ctx.store, name, SENDS_SHOWN)
    return render(request, "_sends.html", nav=where, sends=sends, fresh=False)


@api.get("/collections/{collection_id}/notifications")
def targets_api(db: StoreDep, collection_id: int) -> list[TargetOut]:
    """The collection's own targets, in Apprise's privacy form."""
    return [_target(t) for t in collection_targets(db, collection_by_id(db, collection_id).name)]


@api.post("/collections/{collection_id}/notifications")
def add_target_api(
    request: Request, ctx: ContextDep, collection_id: int, body: TargetIn
) -> list[TargetOut]:
    """Add a target (or change its tags). Secrets must be ``{secret:NAME}`` placeholders."""
    name = collection_by_id(ctx.store, collection_id).name
    return [
        _target(t)
        for t in add_collection_target(ctx.store, ctx.settings, name, body.url, body.tags)
    ]


@api.delete("/collections/{collection_id}/notifications/{number}")
def remove_target_api(db: StoreDep, collection_id: int, number: int) -> TargetOut:
    """Remove the collection's target number ``number`` (1, 2, ... as listed)."""
    return _target(
        remove_collection_target(db, collection_by_id(db, collection_id).name, str(number))
    )


@api.post("/collections/{collection_id}/notifications/test")
def test_api(request: Request, ctx: ContextDep, collection_id: int) -> list[SendOut]:
    """Send a test message to the global and the collection's targets; one result each."""
    name = collection_by_id(ctx.store, collection_id).name
    results = send_event(ctx.settings, ctx.store, TestMessage(), collection=name, retries=1)
    return [SendOut(**r.to_dict()) for r in results]


@api.get("/collections/{collection_id}/notifications/sends")
def sends_api(db: StoreDep, collection_id: int, limit: int = SENDS_SHOWN) -> list[SendOut]:
    """The recorded result of every notification sent for the collection, newest first."""
    sends = list_sends(db, collection_by_id(db, collection_id).name, min(max(limit, 1), 500))
    return [SendOut.model_validate(s, from_attributes=True) for s in sends]


@api.post("/collections/{collection_id}/notifications/sends/{send_id}/resend")
def resend_api(
    request: Request, ctx: ContextDep, collection_id: int, send_id: int
) -> list[SendOut]:
    """Send a recorded notification that did not go out again, now; its new result."""
    name = collection_by_id(ctx.store, collection_id).name
    results = resend(ctx.settings, ctx.store, [send_id], collection=name)
    return [SendOut(**r.to_dict()) for r in results]


def _target(target: Target) -> TargetOut:
    return TargetOut(display=target.display, tags=sorted(target.tags), attach=target.attach)
