"""Review: the images that teach the model most first (``services.review``), each with why it is
there; one click confirms the class or moves the image."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from pixclass.services.corrections import confirm_images
from pixclass.services.pages import nav
from pixclass.services.review import teaching_queue
from pixclass.services.runs import class_cards, count_unreviewed
from pixclass.web.deps import StoreDep, render, who
from pixclass.web.responses import flash
from pixclass.web.schemas import ConfirmRequest, CountOut, ReviewItemOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["review"])

PAGE = 48


@pages.get("/runs/{run_id}/review")
def review_page(request: Request, db: StoreDep, run_id: int, offset: int = 0) -> Response:
    return render(
        request,
        "review.html",
        nav=nav(db, run_id=run_id),
        items=teaching_queue(db, run_id, offset=offset, limit=PAGE),
        offset=offset + PAGE,
        page=PAGE,
        remaining=count_unreviewed(db, run_id),
        classes=sorted(class_cards(db, run_id, samples=0), key=lambda c: c.index),
        tab="review",
    )


@pages.post("/runs/{run_id}/confirm")
def confirm_page(
    request: Request, db: StoreDep, run_id: int, image_ids: list[int] = Form(default=[])
) -> Response:
    count = confirm_images(db, run_id, image_ids, who=who(request))
    return flash(f"Confirmed {count} image(s).", removed=[f"img-{i}" for i in image_ids])


@api.get("/runs/{run_id}/review")
def review_api(
    db: StoreDep, run_id: int, offset: int = 0, limit: int = PAGE
) -> list[ReviewItemOut]:
    """Images no person has confirmed or moved, those that teach the model most first: one per
    group of similar uncertain images before a second of any; ``reason`` says why."""
    items = teaching_queue(db, run_id, offset=offset, limit=min(max(limit, 0), 1000))
    return [ReviewItemOut.of(item) for item in items]


@api.post("/runs/{run_id}/confirm")
def confirm_api(request: Request, db: StoreDep, run_id: int, body: ConfirmRequest) -> CountOut:
    """A person confirms the class the run gave these images."""
    return CountOut(count=confirm_images(db, run_id, body.image_ids, who=who(request)))
