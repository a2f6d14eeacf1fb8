"""Runs and what they found: list and read runs, their classes, a class's images and the review
queue (the map is in ``maps``). Each is one store query; the rules of changing a run are in
``corrections``."""

from __future__ import annotations

from pixclass.store.browse import (
    ClassCard,
    ClassImage,
    RunBrief,
    class_cards,
    class_counts,
    class_images,
    count_unreviewed,
    get_class,
    image_class,
    latest_done_run_id,
    review_queue,
)
from pixclass.store.reports import (
    RunSummary,
    run_summary,
)
from pixclass.store.results import (
    ClusterInfo,
    ImageClass,
    effective_classes,
    list_clusters,
)
from pixclass.store.runs import (
    RunInfo,
    cancel_run,
    get_run,
    list_runs,
)

__all__ = [
    "ClassCard",
    "ClassImage",
    "ClusterInfo",
    "ImageClass",
    "RunBrief",
    "RunInfo",
    "RunSummary",
    "cancel_run",
    "class_cards",
    "class_counts",
    "class_images",
    "count_unreviewed",
    "effective_classes",
    "get_class",
    "get_run",
    "image_class",
    "latest_done_run_id",
    "list_clusters",
    "list_runs",
    "review_queue",
    "run_summary",
]
