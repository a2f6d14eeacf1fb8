"""Export: a collection's labels as CSV or JSON, or its images in a zip with a folder per class
(``store.export_collection``: a person's names and corrections win)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pixclass.services.collections import collection_by_id
from pixclass.services.export import export_collection
from pixclass.services.pages import nav
from pixclass.services.runs import class_counts, list_runs
from pixclass.web.deps import ContextDep, StoreDep, render
from pixclass.web.downloads import download

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["export"])


@pages.get("/collections/{collection_id}/export")
def export_page(request: Request, db: StoreDep, collection_id: int) -> Response:
    where = nav(db, collection_id=collection_id)
    runs = [r for r in list_runs(db, where.collection.name) if r.status == "done"]
    counts = class_counts(db, collection_id)
    return render(request, "export.html", nav=where, runs=runs, counts=counts, tab="export")


@api.get(
    "/collections/{collection_id}/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}, "application/zip": {}}}},
)
def export_api(
    request: Request,
    ctx: ContextDep,
    collection_id: int,
    format: Literal["csv", "json", "zip"] = "csv",
    run: int | None = None,
) -> Response:
    """The classes of a run (default: the newest finished run) as a file to download."""
    collection = collection_by_id(ctx.store, collection_id)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in collection.name)
    return download(
        ctx.settings,
        f"pixclass-{safe}.{format}",
        format,
        lambda dest: export_collection(
            ctx.store, collection.name, dest, fmt=format, run_id=run, overwrite=True
        ),
    )
