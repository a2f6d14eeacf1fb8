"""Collections: list them with their counts and newest run, create, delete (after confirming)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from pixclass.services.collections import (
    collection_by_id,
    collection_covers,
    create_collection,
    delete_collection,
    images_page,
)
from pixclass.services.pages import collections_overview
from pixclass.services.runs import class_counts
from pixclass.web.deps import StoreDep, render
from pixclass.web.schemas import CollectionCreate, CollectionOut, CountOut, ImageRecordOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["collections"])


@pages.get("/")
def collections_page(request: Request, db: StoreDep) -> Response:
    rows = collections_overview(db)
    counts = {info.id: class_counts(db, info.id) for info, _ in rows}
    return render(
        request, "collections.html", rows=rows, covers=collection_covers(db), counts=counts
    )


@pages.post("/collections")
def create_page(request: Request, db: StoreDep, name: str = Form(...)) -> Response:
    collection_id = create_collection(db, name)
    return RedirectResponse(f"/collections/{collection_id}/upload", status_code=303)


@pages.get("/collections/{collection_id}/delete")
def confirm_delete_page(request: Request, db: StoreDep, collection_id: int) -> Response:
    return render(request, "delete.html", collection=collection_by_id(db, collection_id))


@pages.post("/collections/{collection_id}/delete")
def delete_page(request: Request, db: StoreDep, collection_id: int) -> Response:
    delete_collection(db, collection_by_id(db, collection_id).name)
    return RedirectResponse("/", status_code=303)


@api.get("/collections")
def list_collections_api(db: StoreDep) -> list[CollectionOut]:
    return [CollectionOut.of(info, run) for info, run in collections_overview(db)]


@api.post("/collections", status_code=201)
def create_collection_api(db: StoreDep, body: CollectionCreate) -> CollectionOut:
    return CollectionOut.of(collection_by_id(db, create_collection(db, body.name)))


@api.get("/collections/{collection_id}")
def get_collection_api(db: StoreDep, collection_id: int) -> CollectionOut:
    return CollectionOut.of(collection_by_id(db, collection_id))


@api.get("/collections/{collection_id}/images")
def list_images_api(
    db: StoreDep, collection_id: int, offset: int = 0, limit: int = 100
) -> list[ImageRecordOut]:
    """A page of the collection's images, in the order they were added."""
    page = images_page(db, collection_id, offset=offset, limit=min(max(limit, 0), 1000))
    return [ImageRecordOut.model_validate(record, from_attributes=True) for record in page]


@api.delete("/collections/{collection_id}")
def delete_collection_api(db: StoreDep, collection_id: int) -> CountOut:
    """Delete a collection with its images, runs and labels; returns how many images went."""
    return CountOut(count=delete_collection(db, collection_by_id(db, collection_id).name))
