"""The 2-D map: every image as a point, coloured by class, drawn on a canvas by static/map.js."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from pixclass.services.export import export_selection
from pixclass.services.pages import nav
from pixclass.services.runs import class_cards
from pixclass.web.deps import ContextDep, StoreDep, render
from pixclass.web.downloads import download
from pixclass.web.mapdata import map_binary, map_meta
from pixclass.web.schemas import MapOut, SelectionExport

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["map"])


@pages.get("/runs/{run_id}/map")
def map_page(request: Request, db: StoreDep, run_id: int) -> Response:
    return render(
        request,
        "map.html",
        nav=nav(db, run_id=run_id),
        classes=sorted(class_cards(db, run_id, samples=0), key=lambda c: c.index),
        tab="map",
    )


@api.get("/runs/{run_id}/map")
def map_api(db: StoreDep, run_id: int) -> MapOut:
    """The classes and colours of the map; the points are at ``binary``."""
    return map_meta(db, run_id)


@api.get(
    "/runs/{run_id}/map.bin",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def map_binary_api(db: StoreDep, run_id: int) -> Response:
    """``PXM1``, n (uint32 LE), then float32 x[n], float32 y[n], int32 image_id[n], int32
    class[n] (-1: none)."""
    return Response(map_binary(db, run_id), media_type="application/octet-stream")


@api.post(
    "/runs/{run_id}/selection/export",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}, "application/zip": {}}}},
)
def export_selection_api(
    request: Request, ctx: ContextDep, run_id: int, body: SelectionExport
) -> Response:
    """The chosen images with their classes: a CSV, or a zip with a folder per class."""
    return download(
        ctx.settings,
        f"pixclass-run{run_id}-selection.{body.format}",
        body.format,
        lambda dest: export_selection(ctx.store, run_id, body.image_ids, dest, fmt=body.format),
    )
