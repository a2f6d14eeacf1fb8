"""The database: collections, images and their bytes, runs, clusters and labels that last.

SQLite by default (a file in the data dir), PostgreSQL as the server option; Alembic migrations;
image bytes in the database or in a blob directory. ALL SQL in pixclass lives in this package.

Typical use::

    from pixclass.store import open_store, list_runs

    with open_store(settings) as store:
        runs = list_runs(store, "holiday")

What a person does with these (ingest, cluster, classify, export...) is in ``pixclass.services``;
this package imports nothing above ``io``, ``config`` and ``errors``.
"""

from __future__ import annotations

from pixclass.store.blobs import BlobStore, DatabaseBlobStore, DirectoryBlobStore
from pixclass.store.checks import ConsistencyReport, check_consistency, collect_garbage
from pixclass.store.collections import (
    CollectionInfo,
    create_collection,
    delete_collection,
    get_collection,
    list_collections,
    update_collection_settings,
)
from pixclass.store.connect import open_store
from pixclass.store.db import DatabaseUnavailableError, Store, create_store_engine
from pixclass.store.images import (
    ImageRecord,
    get_image,
    get_thumbnail,
    image_names,
    list_images,
    read_image_bytes,
)
from pixclass.store.migrate import check_schema, current_revision, head_revision, upgrade
from pixclass.store.notifications import (
    PendingSend,
    SendRecord,
    claim_send,
    due_sends,
    finish_attempt,
    list_sends,
    pending_sends,
    record_send,
    unsent_ids,
)
from pixclass.store.results import (
    ClusterInfo,
    ImageClass,
    RunResult,
    assign_image,
    effective_classes,
    list_clusters,
    load_model_bytes,
    rename_cluster,
    save_result,
)
from pixclass.store.runs import (
    INTERRUPTED,
    Heartbeat,
    RunInfo,
    cancel_run,
    create_run,
    fail_interrupted_runs,
    fail_run,
    get_run,
    list_runs,
    start_run,
)
from pixclass.store.stats import StorageSize, row_counts, storage_size

__all__ = [
    "INTERRUPTED",
    "BlobStore",
    "ClusterInfo",
    "CollectionInfo",
    "ConsistencyReport",
    "DatabaseBlobStore",
    "DatabaseUnavailableError",
    "DirectoryBlobStore",
    "Heartbeat",
    "ImageClass",
    "ImageRecord",
    "RunInfo",
    "RunResult",
    "SendRecord",
    "StorageSize",
    "Store",
    "assign_image",
    "cancel_run",
    "check_consistency",
    "check_schema",
    "collect_garbage",
    "create_collection",
    "create_run",
    "create_store_engine",
    "current_revision",
    "delete_collection",
    "effective_classes",
    "fail_interrupted_runs",
    "fail_run",
    "get_collection",
    "get_image",
    "get_run",
    "get_thumbnail",
    "head_revision",
    "image_names",
    "list_clusters",
    "list_collections",
    "list_images",
    "list_runs",
    "list_sends",
    "PendingSend",
    "claim_send",
    "due_sends",
    "finish_attempt",
    "pending_sends",
    "unsent_ids",
    "load_model_bytes",
    "open_store",
    "read_image_bytes",
    "record_send",
    "rename_cluster",
    "row_counts",
    "save_result",
    "start_run",
    "storage_size",
    "update_collection_settings",
    "upgrade",
]
