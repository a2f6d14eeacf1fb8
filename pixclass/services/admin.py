"""Looking after the database: migrations, consistency checks, garbage collection, sizes."""

from __future__ import annotations

from pixclass.store.checks import (
    ConsistencyReport,
    check_consistency,
    collect_garbage,
)
from pixclass.store.db import (
    create_store_engine,
)
from pixclass.store.migrate import (
    check_schema,
    current_revision,
    head_revision,
    upgrade,
)
from pixclass.store.stats import (
    StorageSize,
    row_counts,
    storage_size,
)

__all__ = [
    "ConsistencyReport",
    "StorageSize",
    "check_consistency",
    "check_schema",
    "collect_garbage",
    "create_store_engine",
    "current_revision",
    "head_revision",
    "row_counts",
    "storage_size",
    "upgrade",
]
