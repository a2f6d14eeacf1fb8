"""What a person changes in a run: move images to a class, confirm them, merge, split and rename
classes, and undo the last of these. The store keeps the rules of each change in one transaction
and logs it there (``store.correction_log``: who, when, the state before and after); splitting
also needs the run's model (k-means in its feature space), which lives here."""

from __future__ import annotations

from pixclass.cluster.split import split_rows
from pixclass.services.models import loaded_run
from pixclass.store.browse import class_images, get_class
from pixclass.store.correction_log import CorrectionEvent, list_corrections, undo_last
from pixclass.store.corrections import (
    MAX_IMAGES_PER_CORRECTION,
    confirm_images,
    merge_clusters,
    move_images,
    split_cluster,
)
from pixclass.store.db import Store
from pixclass.store.results import ClusterInfo, assign_image, cluster_index, rename_cluster

__all__ = [
    "MAX_IMAGES_PER_CORRECTION",
    "CorrectionEvent",
    "assign_image",
    "confirm_images",
    "list_corrections",
    "merge_clusters",
    "move_images",
    "rename_cluster",
    "split_class",
    "undo_last_correction",
]


def split_class(
    store: Store, run_id: int, cluster: str | int, k: int, seed: int = 0, *, who: str = ""
) -> list[ClusterInfo]:
    """Split a class of a run (index, ``cluster-N`` or its name) into ``k`` parts by k-means in
    the run's feature space; the first part keeps the class, the others are new classes."""
    index = cluster_index(store, run_id, cluster)
    card = get_class(store, run_id, index)
    members = class_images(store, run_id, index, limit=max(card.size, 1))
    ids = [m.image_id for m in members]
    loaded = loaded_run(store, run_id)
    parts = split_rows(loaded.rows_for(store, ids), k, random_state=seed)
    groups = [[ids[i] for i in part] for part in parts]
    return split_cluster(store, run_id, index, groups, who=who)


def undo_last_correction(store: Store, run_id: int) -> CorrectionEvent:
    """Undo the newest correction of a run that is not undone yet (repeat to go further back):
    its images get back their classes, confidences and flags, its classes their names, and the
    classes a split made are removed. ``NotFoundError`` when there is nothing left to undo."""
    return undo_last(store, run_id)
