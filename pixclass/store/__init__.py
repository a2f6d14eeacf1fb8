"""The database: collections, images and their bytes, runs, clusters and labels that last.

SQLite by default (a file in the data dir), PostgreSQL as the server option; Alembic migrations;
image bytes in the database or in a blob directory. ALL SQL in pixclass lives in this package.

Typical use::

    from pixclass.store import open_store, ingest, list_runs

    with open_store(settings) as store:
        report = ingest(store, "photos/", "holiday")
"""

from __future__ import annotations

from pixclass.store.blobs import BlobStore, DatabaseBlobStore, DirectoryBlobStore
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
from pixclass.store.ingest import IngestReport, ingest
from pixclass.store.migrate import check_schema, current_revision, head_revision, upgrade
from pixclass.store.results import (
    ClusterInfo,
    ImageClass,
    assign_image,
    effective_classes,
    list_clusters,
    load_model_bytes,
    rename_cluster,
)
from pixclass.store.runs import (
    INTERRUPTED,
    RunInfo,
    cancel_run,
    fail_interrupted_runs,
    get_run,
    list_runs,
)

__all__ = [
    "INTERRUPTED",
    "BlobStore",
    "ClusterInfo",
    "CollectionInfo",
    "DatabaseBlobStore",
    "DatabaseUnavailableError",
    "DirectoryBlobStore",
    "ImageClass",
    "ImageRecord",
    "IngestReport",
    "RunInfo",
    "Store",
    "assign_image",
    "cancel_run",
    "check_schema",
    "create_collection",
    "create_store_engine",
    "current_revision",
    "delete_collection",
    "effective_classes",
    "fail_interrupted_runs",
    "get_collection",
    "get_image",
    "get_run",
    "get_thumbnail",
    "head_revision",
    "image_names",
    "ingest",
    "list_clusters",
    "list_collections",
    "list_images",
    "list_runs",
    "load_model_bytes",
    "open_store",
    "read_image_bytes",
    "rename_cluster",
    "update_collection_settings",
    "upgrade",
]
