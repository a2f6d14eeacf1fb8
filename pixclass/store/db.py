"""Engines and sessions: the one ``Store`` object that the rest of pixclass talks to.

SQLite is the default (a file in the data dir); PostgreSQL is the server option
(``postgresql+psycopg://user@host/dbname``). Both get the same tables, the same migrations and the
same code paths; where a dialect needs its own SQL it is decided here or in the module at hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pixclass.config import Settings
from pixclass.errors import PixclassError
from pixclass.store.blobs import BlobStore, DatabaseBlobStore, DirectoryBlobStore

# How long a SQLite connection waits for another writer before giving up with "database is
# locked". An ingest commits a batch in well under a second, so 30 s means something is stuck.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Set before the first table exists (it cannot change afterwards in WAL mode). Measured on MNIST
# PNGs (~270 bytes each): 8 KiB pages waste less space per page than 4 KiB ones.
SQLITE_PAGE_SIZE = 8192


class DatabaseUnavailableError(PixclassError):
    """The database cannot be reached or opened."""


class Store:
    """A database (and, optionally, a blob directory) with a session factory.

    Use ``with store.session() as session:`` for a unit of work: it commits when the block ends
    and rolls back when it raises. ``store.write()`` is the same for work that will write; on
    SQLite it takes the write lock at the start (``BEGIN IMMEDIATE``) so that a concurrent
    writer makes it wait rather than fail half-way.

    Attributes
    ----------
    engine : Engine
    url : str
        The database URL with any password masked, for messages.
    blob_dir : Path or None
        Where image bytes are kept when not in the database.
    """

    def __init__(self, engine: Engine, *, blob_dir: Path | None = None) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self.blob_dir = blob_dir
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)
        # Set when image bytes are kept as files rather than in the database.
        self.directory = DirectoryBlobStore(blob_dir) if blob_dir is not None else None

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed at the end of the block, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """Like ``session`` but holding SQLite's write lock from the start."""
        with self._write_sessions() as session, session.begin():
            yield session

    def blobs(self, session: Session) -> BlobStore:
        """The blob store, working inside ``session`` when the bytes live in the database."""
        if self.directory is not None:
            return self.directory
        return DatabaseBlobStore(session)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with pixclass's connection settings.

    SQLite connections get WAL mode (readers never wait for the writer), enforced foreign keys,
    a busy timeout, and real transactions (pysqlite's own handling starts them lazily and never
    for reads, which breaks the snapshot a read-then-write unit of work relies on).

    Raises
    ------
    DatabaseUnavailableError
        The URL is malformed or names a driver that is not installed.
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, **kwargs)
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise DatabaseUnavailableError(
            f"cannot use database URL {url!r}: {exc}. Use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DBNAME (pip install 'pixclass[postgres]')"
        ) from exc


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Autocommit at the driver level: transactions are begun explicitly in ``_sqlite_begin``.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL loses no committed transaction when the process is killed (only on
        # power loss may the last ones roll back), and it avoids an fsync per commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def describe_connection_error(url: str, exc: OperationalError) -> DatabaseUnavailableError:
    """A one-line error for a database that cannot be reached."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return DatabaseUnavailableError(
        f"cannot open the database {url}: {reason}. Check the database_url setting "
        "(PIXCLASS_DATABASE_URL) and that the server is running."
    )


def default_sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file in the data dir when no database URL is set, else None."""
    if settings.database_url:
        return None
    return settings.data_dir / "pixclass.db"
