"""The events a finished or failed run and a classification produce, built from the store."""

from __future__ import annotations

import logging

import numpy as np

from pixclass.config import Settings
from pixclass.io.decode import ImageReadError, decode_bytes
from pixclass.notify import ImagesClassified, ReviewNeeded, RunFailed, RunFinished, run_link
from pixclass.notify.format import montage_png
from pixclass.store import Store, get_thumbnail
from pixclass.store.reports import RunSummary, top_images

log = logging.getLogger(__name__)

# The montage: one row per class (the largest classes first), its most confident images.
MONTAGE_PER_CLASS = 6
MONTAGE_CLASSES = 20
MONTAGE_CELL = 48


def run_finished(settings: Settings, store: Store, summary: RunSummary) -> RunFinished:
    """The run-finished event: classes and sizes, scores, link, montage."""
    return RunFinished(
        collection=summary.collection,
        run_id=summary.run_id,
        classes=summary.classes,
        metrics=summary.metrics,
        link=run_link(settings.base_url, summary.run_id),
        montage_png=run_montage(store, summary.run_id),
    )


def run_failed(settings: Settings, collection: str, run_id: int, error: str) -> RunFailed:
    return RunFailed(collection, run_id, error, link=run_link(settings.base_url, run_id))


def review(settings: Settings, collection: str, run_id: int, count: int) -> ReviewNeeded:
    return ReviewNeeded(collection, run_id, count, link=run_link(settings.base_url, run_id))


def images_classified(
    settings: Settings,
    collection: str,
    run_id: int | None,
    counts: dict[str, int],
    *,
    skipped: list[tuple[str, str]] | None = None,
    waiting: int = 0,
) -> ImagesClassified:
    link = run_link(settings.base_url, run_id) if run_id is not None else ""
    return ImagesClassified(
        collection=collection,
        count=sum(counts.values()),
        counts=dict(counts),
        link=link,
        skipped=list(skipped or []),
        waiting=waiting,
    )


def run_montage(store: Store, run_id: int) -> bytes | None:
    """A PNG with one row per class of the run: its most confident thumbnails.

    None when there is nothing to show or it cannot be drawn (the message goes without it).
    """
    try:
        rows = top_images(store, run_id, MONTAGE_PER_CLASS, MONTAGE_CLASSES)
        images: list[np.ndarray] = []
        for _, image_ids in rows:
            thumbs = [_thumbnail(store, i) for i in image_ids]
            shown = [t for t in thumbs if t is not None]
            blank = np.full((8, 8, 3), 255, dtype=np.uint8)
            images += shown + [blank] * (MONTAGE_PER_CLASS - len(shown))
        if not images:
            return None
        return montage_png(images, columns=MONTAGE_PER_CLASS, cell=MONTAGE_CELL)
    except Exception:  # a montage is a nicety: never let it stop the message
        log.exception("could not draw the montage of run %s", run_id)
        return None


def _thumbnail(store: Store, image_id: int) -> np.ndarray | None:
    data, _ = get_thumbnail(store, image_id)
    try:
        return decode_bytes(data, mode="RGB")
    except ImageReadError as exc:
        log.warning("image %s: no thumbnail for the montage (%s)", image_id, exc.reason)
        return None
