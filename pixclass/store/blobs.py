"""Where the image bytes live: in the database (default) or in a directory of files.

Both sit behind ``BlobStore`` (``put``/``get``/``has``/``delete`` by SHA-256). Whichever holds the
bytes, the database keeps the registry of distinct contents: a ``blobs`` row (its integer id is
what images refer to) plus its ``blob_hashes`` row (the SHA-256). With the database store the
bytes are ``blobs.data``, written in the same transaction as the images that use them, so a crash
can never leave one without the other. With the directory store the file is written (temp file,
fsync, rename) *before* the transaction that registers it commits: a crash can leave a file
nobody refers to, which the next ingest of it reuses and ``collect_garbage`` removes, but never
an image whose bytes are missing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.orm import Session

from pixclass.errors import ConflictError, NotFoundError
from pixclass.store.schema import Blob, BlobHash, Image

# Parameters per IN (...) list: far below SQLite's limit of 32,766 and PostgreSQL's 65,535.
IN_CHUNK = 500


class BlobStore(Protocol):
    """Image bytes by SHA-256 (64 lowercase hex digits)."""

    def put(self, sha256: str, data: bytes) -> None:
        """Store ``data`` under ``sha256`` (nothing happens if it is already there)."""

    def get(self, sha256: str) -> bytes:
        """The bytes; ``NotFoundError`` when they are not here."""
        ...

    def has(self, sha256: str) -> bool:
        """True when the bytes are here."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the bytes (nothing happens if they are not here)."""


class DatabaseBlobStore:
    """Bytes in ``blobs.data``, read and written inside the caller's session (transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, sha256: str, data: bytes) -> None:
        blob_id = find_blob_ids(self.session, [sha256]).get(sha256)
        if blob_id is None:
            add_blobs(self.session, [(sha256, data)], keep_data=True)
        else:
            self.session.execute(
                update(Blob).where(Blob.id == blob_id, Blob.data.is_(None)).values(data=data)
            )

    def get(self, sha256: str) -> bytes:
        data = self.session.scalar(
            select(Blob.data)
            .join(BlobHash, BlobHash.blob_id == Blob.id)
            .where(BlobHash.sha256 == sha256)
        )
        if data is None:
            raise NotFoundError(
                f"the bytes of image {sha256[:12]}… are not in the database; if they were "
                "ingested with a blob directory, set blob_dir (PIXCLASS_BLOB_DIR) to it"
            )
        return bytes(data)

    def has(self, sha256: str) -> bool:
        query = select(Blob.id).join(BlobHash, BlobHash.blob_id == Blob.id)
        query = query.where(BlobHash.sha256 == sha256, Blob.data.is_not(None))
        return self.session.scalar(query) is not None

    def delete(self, sha256: str) -> None:
        blob_id = find_blob_ids(self.session, [sha256]).get(sha256)
        if blob_id is None:
            return
        if self.session.scalar(select(exists().where(Image.blob_id == blob_id))):
            raise ConflictError(f"blob {sha256[:12]}… is still used by images; delete them first")
        self.session.execute(delete(BlobHash).where(BlobHash.sha256 == sha256))
        self.session.execute(delete(Blob).where(Blob.id == blob_id))


class DirectoryBlobStore:
    """Content-addressed files: ``ROOT/ab/cd/abcd….bin`` for SHA-256 ``abcd…``.

    Two levels of 256 folders keep every folder small (a million images put ~15 files in each).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the bytes of ``sha256`` are (or would be) kept."""
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.bin"

    def put(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        # A unique temporary name per writer; os.replace is atomic, so readers (and a process
        # that is killed half-way) only ever see a missing file or the complete one.
        temp = target.with_name(f".{sha256}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(temp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(target.parent)

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"the bytes of image {sha256[:12]}… are missing from the blob directory "
                f"{self.root}; is blob_dir set to the right folder?"
            ) from exc

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def stored(self) -> Iterator[str]:
        """The SHA-256 of every file in the directory (for garbage collection and checks)."""
        for path in self.root.glob("??/??/*.bin"):
            yield path.stem

    def remove_temp_files(self) -> int:
        """Delete temporary files left by killed writers; returns how many."""
        count = 0
        for path in self.root.glob("??/??/.*.tmp"):
            path.unlink(missing_ok=True)
            count += 1
        return count


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable (power loss); not possible on every platform.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def chunks(values: Sequence[str] | Sequence[int], size: int = IN_CHUNK) -> Iterator[list]:
    """``values`` in lists of at most ``size`` (for IN (...) lists)."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def find_blob_ids(session: Session, shas: Collection[str]) -> dict[str, int]:
    """The registered blob id of each of ``shas`` that is known."""
    found: dict[str, int] = {}
    for part in chunks(list(shas)):
        rows = session.execute(
            select(BlobHash.sha256, BlobHash.blob_id).where(BlobHash.sha256.in_(part))
        )
        found.update({sha: blob_id for sha, blob_id in rows})
    return found


def add_blobs(
    session: Session, items: Sequence[tuple[str, bytes]], *, keep_data: bool
) -> dict[str, int]:
    """Register new contents (their SHA-256 must not be registered yet); returns their ids.

    ``keep_data`` stores the bytes in the row (the database blob store); otherwise the caller
    has put them in the directory store already.
    """
    if not items:
        return {}
    rows = [{"data": data if keep_data else None} for _, data in items]
    # sort_by_parameter_order: the ids come back in the order of ``rows``, in one round trip
    # per thousand rows on PostgreSQL.
    ids = session.scalars(insert(Blob).returning(Blob.id, sort_by_parameter_order=True), rows)
    mapping = {sha: blob_id for (sha, _), blob_id in zip(items, ids, strict=True)}
    session.execute(
        insert(BlobHash), [{"sha256": sha, "blob_id": blob_id} for sha, blob_id in mapping.items()]
    )
    return mapping


def forget_unused_blobs(session: Session) -> list[str]:
    """Delete the registry rows (and database bytes) of contents no image uses any more.

    Returns the SHA-256 of each, so that a directory store can delete its files afterwards
    (after the commit: a crash in between leaves only unreferenced files, never missing ones).
    """
    used = exists().where(Image.blob_id == BlobHash.blob_id)
    unused = session.execute(select(BlobHash.sha256, BlobHash.blob_id).where(~used)).all()
    for part in chunks([sha for sha, _ in unused]):
        session.execute(delete(BlobHash).where(BlobHash.sha256.in_(part)))
    for id_part in chunks([blob_id for _, blob_id in unused]):
        session.execute(delete(Blob).where(Blob.id.in_(id_part)))
    # Blob rows without a hash row cannot be made by the store; remove any all the same.
    session.execute(
        delete(Blob).where(
            ~exists().where(Image.blob_id == Blob.id),
            ~exists().where(BlobHash.blob_id == Blob.id),
        )
    )
    return [sha for sha, _ in unused]


def registered_shas(session: Session) -> set[str]:
    """Every registered SHA-256 (for consistency checks)."""
    return set(session.scalars(select(BlobHash.sha256)))
