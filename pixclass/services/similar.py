"""Find the images of a run most like a given image, in the run's own feature space."""

from __future__ import annotations

from pixclass.services.models import loaded_run
from pixclass.store.browse import ClassImage, classes_of
from pixclass.store.db import Store

# Images a similar-images answer holds at most.
MAX_SIMILAR = 100


def similar_images(store: Store, run_id: int, image_id: int, k: int = 12) -> list[ClassImage]:
    """The images of the run most like ``image_id``, nearest first, with their classes."""
    k = min(max(k, 0), MAX_SIMILAR)
    if k == 0:
        return []
    loaded = loaded_run(store, run_id)
    row = loaded.rows_for(store, [image_id])[0]
    found = [i for i, _ in loaded.neighbours(row, k + 1) if i != image_id][:k]
    classes = classes_of(store, run_id, found)
    return [classes[i] for i in found if i in classes]
