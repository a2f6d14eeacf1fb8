"""One image: the picture, its class and confidence, the images most like it; and the image
bytes (thumbnails for grids, originals) for every page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pixclass.services.collections import get_thumbnail
from pixclass.services.pages import image_details, image_in_run, original_image
from pixclass.web.deps import ContextDep, StoreDep, render
from pixclass.web.schemas import ImageClassOut, ImageOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["images"])

# Image bytes never change under an id; the browser may keep them (private: behind the login).
CACHE = {"Cache-Control": "private, max-age=86400"}


@pages.get("/images/{image_id}")
def image_page(
    request: Request, ctx: ContextDep, image_id: int, run: int | None = None
) -> Response:
    details = image_details(ctx.store, image_id, run)
    return render(request, "image.html", d=details, nav=details.nav, tab="classes")


@api.get("/images/{image_id}")
def image_api(
    request: Request, ctx: ContextDep, image_id: int, run: int | None = None, similar: int = 12
) -> ImageOut:
    """An image with its class in ``run`` (default: the newest finished run) and the ``similar``
    images nearest to it in the run's feature space."""
    d = image_in_run(ctx.store, image_id, run, k=min(max(similar, 0), 100))
    return ImageOut(
        id=d.image.id,
        collection=d.image.collection,
        file_name=d.image.file_name,
        names=d.names,
        sha256=d.image.sha256,
        width=d.image.width,
        height=d.image.height,
        format=d.image.format,
        size_bytes=d.image.size_bytes,
        known_label=d.image.known_label,
        run_id=d.run_id,
        image_class=ImageClassOut.of(d.image_class) if d.image_class else None,
        similar=[ImageClassOut.of(item) for item in d.similar],
    )


@api.get(
    "/images/{image_id}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}},
)
def thumbnail_api(db: StoreDep, image_id: int) -> Response:
    """A preview of at most 96 px (the original when it is that small)."""
    data, media = get_thumbnail(db, image_id)
    return Response(data, media_type=media, headers=CACHE)


@api.get(
    "/images/{image_id}/original",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}},
)
def original_api(db: StoreDep, image_id: int) -> Response:
    """The image exactly as it was uploaded."""
    data, media = original_image(db, image_id)
    return Response(data, media_type=media, headers=CACHE)
