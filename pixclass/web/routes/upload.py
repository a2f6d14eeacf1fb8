"""Upload: many files, a folder or a zip, streamed into the data dir and ingested."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pixclass.services.collections import collection_by_id
from pixclass.services.pages import nav
from pixclass.web.deps import ContextDep, render
from pixclass.web.schemas import SkippedOut, UploadOut
from pixclass.web.uploads import UploadReport, upload_to_collection

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["upload"])

# Documents the multipart body for /docs; the route streams it itself (see web/uploads.py).
MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "Images (folders keep their relative paths) or .zip",
                        }
                    },
                }
            }
        },
    }
}


@pages.get("/collections/{collection_id}/upload")
def upload_page(request: Request, ctx: ContextDep, collection_id: int) -> Response:
    return render(
        request,
        "upload.html",
        nav=nav(ctx.store, collection_id=collection_id),
        limits=ctx.settings,
        tab="upload",
    )


@pages.post("/collections/{collection_id}/upload")
async def upload_form(request: Request, ctx: ContextDep, collection_id: int) -> Response:
    collection = collection_by_id(ctx.store, collection_id)
    report = await upload_to_collection(request, ctx.store, ctx.settings, collection.name)
    return render(request, "_upload_report.html", report=report, collection=collection)


@api.post("/collections/{collection_id}/upload", openapi_extra=MULTIPART_BODY)
async def upload_api(request: Request, ctx: ContextDep, collection_id: int) -> UploadOut:
    """Add images to a collection: files (field ``files``), a folder's files, or .zip archives.

    Files that cannot be used are listed in ``skipped`` with the reason.
    """
    collection = collection_by_id(ctx.store, collection_id)
    return _out(await upload_to_collection(request, ctx.store, ctx.settings, collection.name))


def _out(report: UploadReport) -> UploadOut:
    return UploadOut(
        collection=report.collection,
        received=report.received,
        added=report.added,
        present=report.present,
        skipped=[SkippedOut(name=s.path, reason=s.reason) for s in report.skipped],
        seconds=round(report.seconds, 3),
    )
