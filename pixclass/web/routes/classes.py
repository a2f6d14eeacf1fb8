"""Classes: the gallery of a run's classes, one class's images (loaded as they scroll into view),
and a person's corrections: rename, merge, split, move selected images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from pixclass.services.collections import Store
from pixclass.services.corrections import merge_clusters, move_images, rename_cluster, split_class
from pixclass.services.pages import nav
from pixclass.services.recut import granularity
from pixclass.services.runs import ClassImage, ClusterInfo, class_cards, class_images, get_class
from pixclass.web.auth import safe_next
from pixclass.web.deps import ContextDep, StoreDep, render, who
from pixclass.web.responses import flash, go_to
from pixclass.web.schemas import (
    ClassOut,
    ClusterOut,
    ImageClassOut,
    MergeRequest,
    MovedOut,
    MoveRequest,
    RenameRequest,
    SplitRequest,
)

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["classes"])

PAGE = 120


@pages.get("/runs/{run_id}/classes")
def gallery_page(request: Request, db: StoreDep, run_id: int, empty: bool = False) -> Response:
    cards = class_cards(db, run_id, confidence=True)
    shown = [c for c in cards if c.size > 0 or empty]
    n_classes = len([c for c in cards if c.size > 0])
    return render(
        request,
        "gallery.html",
        nav=nav(db, run_id=run_id),
        cards=shown,
        all_cards=cards,
        n_empty=len(cards) - n_classes,
        granularity=granularity(db, run_id, n_classes),
        tab="classes",
    )


@dataclass(frozen=True)
class ClassView:
    """How a class page is sorted and filtered (query parameters), kept by each lazy page."""

    sort: str = "confident"
    unconfirmed: bool = False
    q: str = ""

    def images(self, db: Store, run_id: int, index: int, offset: int = 0) -> list[ClassImage]:
        """One page of the class's images in this view."""
        return class_images(
            db,
            run_id,
            index,
            offset=offset,
            limit=PAGE,
            sort=self.sort,
            unconfirmed=self.unconfirmed,
            search=self.q,
        )

    def query(self) -> str:
        """The order and filters, for the URL of the next page."""
        values = {"sort": self.sort, "unconfirmed": "1" if self.unconfirmed else "", "q": self.q}
        return urlencode({k: v for k, v in values.items() if v})


ClassViewDep = Annotated[ClassView, Depends()]


@pages.get("/runs/{run_id}/classes/{index}")
def class_page(
    request: Request, db: StoreDep, view: ClassViewDep, run_id: int, index: int
) -> Response:
    return render(
        request,
        "class.html",
        nav=nav(db, run_id=run_id),
        card=get_class(db, run_id, index),
        classes=[c for c in class_cards(db, run_id, samples=0)],
        images=view.images(db, run_id, index),
        offset=PAGE,
        page=PAGE,
        shown={"sort": view.sort, "unconfirmed": view.unconfirmed, "q": view.q},
        filters=view.query(),
        tab="classes",
    )


@pages.get("/runs/{run_id}/classes/{index}/images")
def class_images_fragment(
    request: Request, db: StoreDep, view: ClassViewDep, run_id: int, index: int, offset: int = 0
) -> Response:
    return render(
        request,
        "_thumbs.html",
        run_id=run_id,
        card=get_class(db, run_id, index),
        images=view.images(db, run_id, index, offset),
        offset=offset + PAGE,
        page=PAGE,
        filters=view.query(),
    )


@pages.post("/runs/{run_id}/classes/{index}/rename")
def rename_page(
    request: Request, db: StoreDep, run_id: int, index: int, name: str = Form("")
) -> Response:
    rename_cluster(db, run_id, index, name, who=who(request))
    back = urlsplit(request.headers.get("HX-Current-URL", "")).path  # the page it was renamed on
    return go_to(request, safe_next(back or f"/runs/{run_id}/classes"))


@pages.post("/runs/{run_id}/merge")
def merge_page(
    request: Request,
    db: StoreDep,
    run_id: int,
    classes: list[int] = Form(default=[]),
    into: int = Form(...),
) -> Response:
    merge_clusters(db, run_id, classes, into, who=who(request))
    return go_to(request, f"/runs/{run_id}/classes")


@pages.post("/runs/{run_id}/classes/{index}/split")
def split_page(
    request: Request, ctx: ContextDep, run_id: int, index: int, k: int = Form(2)
) -> Response:
    split_class(ctx.store, run_id, index, k, who=who(request))
    return go_to(request, f"/runs/{run_id}/classes")


@pages.post("/runs/{run_id}/move")
def move_page(
    request: Request,
    db: StoreDep,
    run_id: int,
    image_ids: list[int] = Form(default=[]),
    to: str = Form(...),
    current: int | None = Form(None),
) -> Response:
    """Move the selected images; on a class page, those that left the class leave the page."""
    target, moved = move_images(db, run_id, image_ids, to, who=who(request))
    gone = (
        [f"img-{i}" for i in image_ids] if current is not None and current != target.index else []
    )
    return flash(f"Moved {moved} image(s) to {target.display_name}.", removed=gone)


@api.get("/runs/{run_id}/classes")
def list_classes_api(db: StoreDep, run_id: int, samples: int = 6) -> list[ClassOut]:
    """Every class of a run (largest first) with its most confident images."""
    return [ClassOut.of(c) for c in class_cards(db, run_id, samples=min(max(samples, 0), 50))]


@api.get("/runs/{run_id}/classes/{index}")
def get_class_api(db: StoreDep, run_id: int, index: int) -> ClassOut:
    return ClassOut.of(get_class(db, run_id, index))


@api.get("/runs/{run_id}/classes/{index}/images")
def class_images_api(
    db: StoreDep, run_id: int, index: int, offset: int = 0, limit: int = PAGE
) -> list[ImageClassOut]:
    """A page of a class's images, most confident first."""
    page = class_images(db, run_id, index, offset=offset, limit=min(max(limit, 0), 5000))
    return [ImageClassOut.of(item) for item in page]


@api.patch("/runs/{run_id}/classes/{index}")
def rename_api(
    request: Request, db: StoreDep, run_id: int, index: int, body: RenameRequest
) -> ClusterOut:
    """Name a class (an empty name goes back to ``cluster-N``); exports use the name. A name
    another class of the run has is refused (409, naming that class)."""
    return _cluster(rename_cluster(db, run_id, index, body.name, who=who(request)))


@api.post("/runs/{run_id}/merge")
def merge_api(request: Request, db: StoreDep, run_id: int, body: MergeRequest) -> ClusterOut:
    """Move every image of ``classes`` into ``into``; each keeps its confidence (a merge is no
    confirmation of each image)."""
    return _cluster(merge_clusters(db, run_id, body.classes, body.into, who=who(request)))


@api.post("/runs/{run_id}/classes/{index}/split")
def split_api(
    request: Request, ctx: ContextDep, run_id: int, index: int, body: SplitRequest
) -> list[ClusterOut]:
    """Re-cluster a class's images into ``k`` parts (k-means in the run's feature space)."""
    parts = split_class(ctx.store, run_id, index, body.k, body.seed, who=who(request))
    return [_cluster(c) for c in parts]


@api.post("/runs/{run_id}/move")
def move_api(request: Request, db: StoreDep, run_id: int, body: MoveRequest) -> MovedOut:
    """Put images in a class (by index or name), as a person's decision."""
    target, moved = move_images(db, run_id, body.image_ids, body.to, who=who(request))
    card = get_class(db, run_id, target.index)
    return MovedOut(moved=moved, to=ClassOut.of(card))


def _cluster(info: ClusterInfo) -> ClusterOut:
    return ClusterOut(
        index=info.index, name=info.name, display_name=info.display_name, size=info.size
    )
