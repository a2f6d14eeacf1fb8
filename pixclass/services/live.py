"""What a page shows, as one short version string: pages poll it and reload their live parts
when it changes, and a write made against an older version is refused (``web.live``)."""

from __future__ import annotations

import hashlib
from typing import Any

from pixclass.store.browse import (
    class_cards,
    class_counts,
    collection_by_id,
    latest_runs,
    run_collection_id,
)
from pixclass.store.db import Store


def version(db: Store, *, run_id: int | None = None, collection_id: int | None = None) -> str:
    """The version of a run's pages (``run_id``) or a collection's (``collection_id``)."""
    if run_id is not None:
        collection_id = run_collection_id(db, run_id)
    if collection_id is None:
        return ""
    info = collection_by_id(db, collection_id)
    newest = latest_runs(db).get(collection_id)
    parts: list[Any] = [info.n_images, newest and (newest.id, newest.status)]
    if run_id is not None:
        parts.append(sorted((c.index, c.name, c.size) for c in class_cards(db, run_id, samples=0)))
    else:  # the collection's pages list its runs with their number of classes
        parts.append(sorted(class_counts(db, collection_id).items()))
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]
