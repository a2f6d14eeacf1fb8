"""Classify: upload new images and get each one's class and confidence (or "unknown") at once,
from the run's model (loaded once per run and kept). The images join the collection."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pixclass.services.classify import classify_target
from pixclass.services.pages import nav
from pixclass.web.classifying import classify_upload
from pixclass.web.deps import ContextDep, render
from pixclass.web.routes.upload import MULTIPART_BODY
from pixclass.web.schemas import ClassifiedOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["classify"])


@pages.get("/collections/{collection_id}/classify")
def classify_page(
    request: Request, ctx: ContextDep, collection_id: int, run: int | None = None
) -> Response:
    _, run_id = classify_target(ctx.store, collection_id, run)
    where = nav(ctx.store, collection_id=collection_id)
    return render(request, "classify.html", nav=where, run_id=run_id, tab="classify")


@pages.post("/collections/{collection_id}/classify")
async def classify_form(
    request: Request, ctx: ContextDep, collection_id: int, run: int | None = None
) -> Response:
    results, run_id = await classify_upload(request, ctx, collection_id, run)
    return render(request, "_classified.html", results=results, run_id=run_id)


@api.post("/collections/{collection_id}/classify", openapi_extra=MULTIPART_BODY)
async def classify_api(
    request: Request, ctx: ContextDep, collection_id: int, run: int | None = None
) -> list[ClassifiedOut]:
    """Add the uploaded images to the collection and classify each with the model of ``run``
    (default: the newest finished run). ``class_name`` is null for "unknown"."""
    results, _ = await classify_upload(request, ctx, collection_id, run)
    return [ClassifiedOut(**r.__dict__) for r in results]
