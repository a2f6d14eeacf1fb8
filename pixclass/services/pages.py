"""What a page shows: where it is (its collection and run), the collections overview, one image
with its class and the images most like it. Routes call one of these and render the result."""

from __future__ import annotations

from dataclasses import dataclass

from pixclass.services.similar import similar_images
from pixclass.store.browse import (
    ClassCard,
    ClassImage,
    RunBrief,
    class_cards,
    collection_by_id,
    image_class,
    image_collection_id,
    latest_done_run_id,
    latest_runs,
    run_collection_id,
)
from pixclass.store.collections import CollectionInfo, list_collections
from pixclass.store.db import Store
from pixclass.store.images import ImageRecord, get_image, image_names, original_bytes
from pixclass.store.runs import RunInfo, get_run


@dataclass(frozen=True)
class Nav:
    """Where a page is: its collection and the run it shows (or the newest finished one)."""

    collection: CollectionInfo
    run: RunInfo | None


def nav(store: Store, *, collection_id: int | None = None, run_id: int | None = None) -> Nav:
    """The collection and run of a page, from a run id or a collection id."""
    if run_id is not None:
        run = get_run(store, run_id)
        return Nav(collection_by_id(store, run_collection_id(store, run_id)), run)
    if collection_id is None:
        raise ValueError("nav needs a collection id or a run id")
    collection = collection_by_id(store, collection_id)
    latest = latest_done_run_id(store, collection_id)
    return Nav(collection, get_run(store, latest) if latest is not None else None)


def collections_overview(store: Store) -> list[tuple[CollectionInfo, RunBrief | None]]:
    """Every collection with its newest run (or None)."""
    newest = latest_runs(store)
    return [(info, newest.get(info.id)) for info in list_collections(store)]


def original_image(store: Store, image_id: int) -> tuple[bytes, str]:
    """The bytes of an image as ingested, and their MIME type."""
    return original_bytes(store, image_id)


@dataclass(frozen=True)
class ImageInRun:
    """An image, its class and confidence in a run, and the images most like it: what the
    viewer shows."""

    image: ImageRecord
    names: list[str]
    collection_id: int
    run_id: int | None
    image_class: ClassImage | None
    similar: list[ClassImage]


@dataclass(frozen=True)
class ImageDetails(ImageInRun):
    """Everything the image page shows: the viewer's details, the classes to move it to, and
    where the page is."""

    classes: list[ClassCard]
    nav: Nav


def image_in_run(store: Store, image_id: int, run_id: int | None = None, k: int = 12) -> ImageInRun:
    """An image, its class and confidence in a run (default: the newest finished run of its
    collection) and the ``k`` images most like it.

    Only what the viewer shows: no counts of the collection or the run (each a scan of 70,000
    rows on a large collection) and no list of classes.
    """
    image = get_image(store, image_id)
    collection_id = image_collection_id(store, image_id)
    if run_id is None:
        run_id = latest_done_run_id(store, collection_id)
    found: ClassImage | None = None
    similar: list[ClassImage] = []
    if run_id is not None:
        found = image_class(store, run_id, image_id)
        if k > 0:
            similar = similar_images(store, run_id, image_id, k)
    return ImageInRun(
        image=image,
        names=image_names(store, image_id),
        collection_id=collection_id,
        run_id=run_id,
        image_class=found,
        similar=similar,
    )


def image_details(
    store: Store, image_id: int, run_id: int | None = None, k: int = 12
) -> ImageDetails:
    """The image page: ``image_in_run`` with the run's classes and the page's place."""
    shown = image_in_run(store, image_id, run_id, k)
    run_id = shown.run_id
    classes = class_cards(store, run_id, samples=0) if run_id is not None else []
    return ImageDetails(
        image=shown.image,
        names=shown.names,
        collection_id=shown.collection_id,
        run_id=run_id,
        image_class=shown.image_class,
        similar=shown.similar,
        classes=sorted(classes, key=lambda c: c.index),
        nav=nav(store, run_id=run_id) if run_id else nav(store, collection_id=shown.collection_id),
    )
