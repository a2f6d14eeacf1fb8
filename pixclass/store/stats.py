"""How much space the database takes, per table (for ``benchmarks/ingest.py`` and the app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from pixclass.store.db import Store
from pixclass.store.schema import Base


@dataclass(frozen=True)
class StorageSize:
    """Bytes on disk.

    Attributes
    ----------
    total : int
        SQLite: the database file after a WAL checkpoint. PostgreSQL: pixclass's tables with
        their indexes and TOAST data (not the server's catalogs).
    by_table : dict of str to int
        Per table or index (SQLite, when the ``dbstat`` table is compiled in) or per table with
        its indexes (PostgreSQL).
    """

    total: int
    by_table: dict[str, int] = field(default_factory=dict)


def storage_size(store: Store) -> StorageSize:
    """The space the database takes now."""
    if store.dialect == "sqlite":
        return _sqlite_size(store)
    tables = list(Base.metadata.tables)
    with store.engine.connect() as connection:
        sizes = {
            name: int(
                connection.execute(
                    text("SELECT pg_total_relation_size(CAST(:name AS regclass))"), {"name": name}
                ).scalar_one()
            )
            for name in tables
        }
    return StorageSize(total=sum(sizes.values()), by_table=sizes)


def _sqlite_size(store: Store) -> StorageSize:
    with store.engine.connect() as connection:
        # Moves committed pages from the -wal file into the database file, so the file size
        # is the size of the data.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        try:
            rows = connection.exec_driver_sql(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"
            ).all()
        except OperationalError:  # dbstat is an optional part of SQLite
            rows = []
    return StorageSize(total=int(pages) * int(page_size), by_table={n: int(s) for n, s in rows})


def row_counts(store: Store) -> dict[str, int]:
    """The number of rows in each pixclass table."""
    with store.session() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }
