"""The two blob stores behind one interface, and features kept per (image, extractor)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from store_samples import write_mnist_pngs

from pixclass.errors import ConflictError, NotFoundError
from pixclass.services.ingest import ingest
from pixclass.store import DatabaseBlobStore, DirectoryBlobStore, Store, list_images
from pixclass.store.checks import check_consistency, collect_garbage


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_directory_store(tmp_path: Path) -> None:
    blobs = DirectoryBlobStore(tmp_path / "b")
    data = b"\x89PNG not really"
    sha = _sha(data)
    assert not blobs.has(sha)
    blobs.put(sha, data)
    blobs.put(sha, data)  # a second put is a no-op
    assert blobs.has(sha) and blobs.get(sha) == data
    assert blobs.path(sha) == tmp_path / "b" / sha[:2] / sha[2:4] / f"{sha}.bin"
    assert list(blobs.stored()) == [sha]
    assert list(blobs.path(sha).parent.glob(".*.tmp")) == []
    blobs.delete(sha)
    blobs.delete(sha)
    with pytest.raises(NotFoundError, match="missing from the blob directory"):
        blobs.get(sha)


def test_database_store(store: Store) -> None:
    data = bytes(range(256)) * 3
    sha = _sha(data)
    with store.write() as session:
        blobs = DatabaseBlobStore(session)
        assert not blobs.has(sha)
        blobs.put(sha, data)
        blobs.put(sha, data)
        assert blobs.has(sha) and blobs.get(sha) == data
    assert check_consistency(store).unused_blobs == [sha]  # stored, but no image uses it
    assert collect_garbage(store).blobs_removed == 1
    with store.session() as session, pytest.raises(NotFoundError):
        DatabaseBlobStore(session).get(sha)


@pytest.mark.usefixtures("mnist_available")
def test_bytes_in_use_cannot_be_deleted(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "d", 2)
    ingest(store, tmp_path / "d", "d")
    sha = list_images(store, "d")[0].sha256
    with store.write() as session, pytest.raises(ConflictError, match="still used"):
        DatabaseBlobStore(session).delete(sha)
