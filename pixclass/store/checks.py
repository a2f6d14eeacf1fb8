"""Consistency checks and garbage collection of image bytes (``pixclass db check``/``gc``).

The crash tests use ``check_consistency`` to show that a killed ingest leaves nothing half-done.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import exists, select

from pixclass.store.blobs import forget_unused_blobs
from pixclass.store.db import Store
from pixclass.store.images import iter_image_bytes
from pixclass.store.schema import Blob, BlobHash, Image


@dataclass
class ConsistencyReport:
    """Problems found; every list empty means consistent.

    Attributes
    ----------
    images_without_bytes : list of int
        Images whose content is not registered, or whose bytes are missing.
    unused_blobs : list of str
        Registered contents (SHA-256) that no image uses.
    unregistered_files : list of str
        Files in the blob directory that the database does not know.
    wrong_hashes : list of int
        Images whose stored bytes do not hash to their SHA-256.
    """

    images_without_bytes: list[int] = field(default_factory=list)
    unused_blobs: list[str] = field(default_factory=list)
    unregistered_files: list[str] = field(default_factory=list)
    wrong_hashes: list[int] = field(default_factory=list)
    n_images: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.images_without_bytes
            or self.unused_blobs
            or self.unregistered_files
            or self.wrong_hashes
        )


def check_consistency(store: Store, *, verify_hashes: bool = True) -> ConsistencyReport:
    """Check that every image has its bytes, every stored content an image, and (optionally)
    that the bytes still hash to their SHA-256 (this reads them all)."""
    found = ConsistencyReport()
    with store.session() as session:
        rows = session.execute(
            select(Image.id, BlobHash.sha256, Blob.id, Blob.data.is_not(None))
            .outerjoin(BlobHash, BlobHash.blob_id == Image.blob_id)
            .outerjoin(Blob, Blob.id == Image.blob_id)
            .order_by(Image.id)
        ).all()
        used = exists().where(Image.blob_id == BlobHash.blob_id)
        found.unused_blobs = list(session.scalars(select(BlobHash.sha256).where(~used)))
        # Blob rows that neither an image nor a hash row refers to (the store never makes them).
        orphan_rows = session.scalars(
            select(Blob.id).where(
                ~exists().where(Image.blob_id == Blob.id),
                ~exists().where(BlobHash.blob_id == Blob.id),
            )
        ).all()
        registered = set(session.scalars(select(BlobHash.sha256)))
    found.n_images = len(rows)
    found.unused_blobs += [f"blob row {blob_id}" for blob_id in orphan_rows]
    expected: dict[int, str] = {}
    for image_id, sha, blob_id, has_data in rows:
        in_place = (
            store.directory.has(sha) if store.directory is not None and sha else bool(has_data)
        )
        if sha is None or blob_id is None or not in_place:
            found.images_without_bytes.append(image_id)
        else:
            expected[image_id] = sha
    if store.directory is not None:
        found.unregistered_files = sorted(set(store.directory.stored()) - registered)
    if verify_hashes:
        for chunk in iter_image_bytes(store, list(expected)):
            for image_id, data in chunk:
                if hashlib.sha256(data).hexdigest() != expected[image_id]:
                    found.wrong_hashes.append(image_id)
    return found


@dataclass(frozen=True)
class GarbageReport:
    blobs_removed: int
    files_removed: int


def collect_garbage(store: Store) -> GarbageReport:
    """Remove stored contents that no image uses: registry rows, database bytes, and files
    (including files a killed ingest wrote but never registered)."""
    with store.write() as session:
        unused = forget_unused_blobs(session)
    files = 0
    if store.directory is not None:
        directory = store.directory
        for sha in unused:
            directory.delete(sha)
        files += len(unused)
        with store.session() as session:
            registered = set(session.scalars(select(BlobHash.sha256)))
        for sha in set(directory.stored()) - registered:
            directory.delete(sha)
            files += 1
        files += directory.remove_temp_files()
    return GarbageReport(blobs_removed=len(unused), files_removed=files)
