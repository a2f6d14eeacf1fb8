"""The tables, as typed SQLAlchemy ORM classes. Migrations (``migrations/versions``) create them.

Layout choices that keep the database small and fast (see ``docs/storage.md`` for the figures):

- ``images`` is narrow: the bytes live in ``blobs``, thumbnails in ``thumbnails``, features in
  ``features``, so listing thousands of images reads little.
- A SHA-256 is stored as 32 raw bytes, and exactly once: ``blob_hashes`` maps it to the integer
  ``blobs.id`` that everything else uses. On SQLite ``blob_hashes`` is a WITHOUT ROWID table, so
  the hash is the key itself rather than a column plus a copy in an index.
- Timestamps are integer milliseconds on SQLite (6 bytes instead of a 26-character string) and
  ``timestamptz`` on PostgreSQL; Python always sees aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

# Named constraints, so that later migrations can refer to them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Integer primary keys: BIGINT on PostgreSQL; on SQLite it must be spelled INTEGER to become the
# rowid (no separate index, ids handed out in insert order).
IdType = BigInteger().with_variant(Integer(), "sqlite")

RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (what every timestamp column holds)."""
    return datetime.now(UTC)


class Timestamp(TypeDecorator[datetime]):
    """An aware UTC datetime: integer milliseconds on SQLite, ``timestamptz`` elsewhere."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if dialect.name == "sqlite":
            return round(value.timestamp() * 1000)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.fromtimestamp(int(value) / 1000, UTC)


class Sha256(TypeDecorator[str]):
    """A SHA-256 as 64 lowercase hex digits in Python, 32 raw bytes in the database."""

    impl = LargeBinary(32)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else bytes(value).hex()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Collection(Base):
    """A named set of images that are clustered together."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    # Free-form per-collection settings (notification targets, default run options, ...).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Blob(Base):
    """One distinct content. ``data`` holds the bytes, or NULL when a directory blob store does."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)


class BlobHash(Base):
    """The content address of a blob: its SHA-256 (the key) and its id.

    There is deliberately no foreign key to ``blobs``; the store writes and deletes the two rows
    together, in one transaction. ``blob_id`` is indexed (migration 0007) because every read of
    one image goes from its blob id to its hash: without the index each is a full table scan.
    """

    __tablename__ = "blob_hashes"
    __table_args__ = (
        Index("ix_blob_hashes_blob_id", "blob_id"),
        {"sqlite_with_rowid": False},
    )

    sha256: Mapped[str] = mapped_column(Sha256(), primary_key=True)
    blob_id: Mapped[int] = mapped_column(IdType)


class Image(Base):
    """An image in a collection. The same bytes are one image per collection, whatever the name."""

    __tablename__ = "images"
    # blob_id first: the constraint's index also serves the foreign-key checks on ``blobs``.
    __table_args__ = (UniqueConstraint("blob_id", "collection_id", name="uq_images_blob"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blobs.id"))
    # The first name the bytes were ingested under; later names go to ``image_names``.
    file_name: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    # A class known in advance (datasets, labeled folders), for evaluation only.
    known_label: Mapped[str | None] = mapped_column(Text)


class ImageName(Base):
    """Another file name under which the same bytes were ingested into the collection."""

    __tablename__ = "image_names"
    __table_args__ = {"sqlite_with_rowid": False}

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(Text, primary_key=True)


class Thumbnail(Base):
    """A small preview. Absent when the original is already small and shows in a browser."""

    __tablename__ = "thumbnails"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Run(Base):
    """One clustering of a collection, from queued to done (or failed, or cancelled)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    features: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    n_clusters: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp())
    # Crash detection: the working process writes both; a dead pid or a stale heartbeat means the
    # run was interrupted (see ``runs.fail_interrupted_runs``).
    heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp())
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class RunModel(Base):
    """The fitted model of a finished run (``Model.to_bytes()``), kept apart from the run row."""

    __tablename__ = "run_models"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Cluster(Base):
    """A cluster found by a run; ``name`` is given by a person (None: shown as ``cluster-N``)."""

    __tablename__ = "clusters"
    __table_args__ = (UniqueConstraint("run_id", "index", name="uq_clusters_run_index"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer, default=0)
    representative_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("images.id", ondelete="SET NULL"), index=True
    )


class Assignment(Base):
    """Where a run put an image: cluster (NULL: unknown), confidence, and its 2-D map position.

    ``set_by_person`` marks a human correction; those win over any run's result when an image's
    class is shown (see ``results.effective_classes``).
    """

    __tablename__ = "assignments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["run_id", "cluster"],
            ["clusters.run_id", "clusters.index"],
            name="fk_assignments_cluster_clusters",
            ondelete="CASCADE",
        ),
        # Deleting images checks this table by image; without the index each check is a scan.
        Index("ix_assignments_image_id", "image_id"),
        # Browsing (migration 0003): a class's images by confidence, and the review queue.
        # The class index holds the flag too (0008): a class page, filtered to the unconfirmed
        # images or not, reads only the index.
        Index(
            "ix_assignments_class", "run_id", "cluster", "confidence", "image_id", "set_by_person"
        ),
        Index("ix_assignments_review", "run_id", "set_by_person", "confidence", "image_id"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    cluster: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    set_by_person: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)


JOB_KINDS = ("cluster", "ingest", "classify", "learn")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


class Job(Base):
    """A piece of background work (cluster, ingest, classify) from submitted to finished.

    ``stage``/``fraction``/``message`` are the latest progress report; ``stages`` keeps when each
    stage began. ``pid``/``host``/``heartbeat_at`` detect a killed worker as for runs.
    """

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stage: Mapped[str | None] = mapped_column(String(200))
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    stages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    # The queue's own id for the work, to revoke it while it waits.
    task_id: Mapped[str | None] = mapped_column(String(64))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp())
    heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp())
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))


class NotificationSend(Base):
    """One notification sent (or not) to one target: what ``Notifier`` reported for it.

    ``target`` is Apprise's privacy form of the URL, never the URL with its secrets. ``job_id``
    and ``run_id`` are plain references (no foreign key): the record outlives what it was about.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(IdType)
    run_id: Mapped[int | None] = mapped_column(IdType)
    event_type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(Timestamp())
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    # "sent", "retrying" (another try at next_attempt_at, until give_up_at) or "failed" (for
    # good). target_key is Target.key (a fingerprint of the URL); payload the message sent.
    status: Mapped[str] = mapped_column(String(16), default="sent", index=True)
    target_key: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp())
    give_up_at: Mapped[datetime | None] = mapped_column(Timestamp())


class InboxFile(Base):
    """A file of a watched inbox that was dealt with, keyed by its path, size and mtime.

    A file that is replaced (another size or mtime) is a new file. ``status`` is ``classified``,
    ``waiting`` (ingested; the collection has no model yet), ``skipped`` (``reason`` says why) or
    ``unpacked`` (a ``.zip``; each of its images has a row ``NAME.zip/member`` of its own).
    """

    __tablename__ = "inbox_files"
    __table_args__ = (
        UniqueConstraint("collection_id", "path", "size", "mtime_ns", name="uq_inbox_files_file"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[int | None] = mapped_column(IdType)
    processed_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)


CORRECTION_KINDS = ("move", "confirm", "merge", "split", "rename")


class Correction(Base):
    """One correction a person made to a run, with the state it changed before and after.

    ``before``/``after`` hold the assignments the correction touched (``[image_id, cluster,
    confidence, set_by_person, updated_at]``, or ``[image_id, None, None, None, None]`` for an
    image the run held no assignment for) and the classes (``[index, name,
    representative_image_id]``, ``created`` for classes it made). Undo writes ``before`` back;
    ``undone_at`` marks an undone event (kept, never deleted, so the log stays whole).
    """

    __tablename__ = "corrections"
    __table_args__ = (Index("ix_corrections_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    who: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    undone_at: Mapped[datetime | None] = mapped_column(Timestamp())
