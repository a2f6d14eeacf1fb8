"""Add a handful of images to a collection at once, without the set-up a bulk ``ingest`` does.

``ingest`` loads the collection's whole content index first (every hash and name), which is the
right trade for thousands of files and far too slow for classifying one image in a collection of
70,000. Here only the hashes of the files at hand are looked up. The outcome is the same as an
ingest of the same files: one image per content, other names recorded, thumbnails made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pixclass.io.decode import ImageReadError
from pixclass.io.hashing import sha256_bytes
from pixclass.io.thumbnails import check_image
from pixclass.store.blobs import chunks
from pixclass.store.collections import collection_id
from pixclass.store.db import Store
from pixclass.store.images import NewImage, add_images, add_names, new_image
from pixclass.store.schema import BlobHash, Image, ImageName


@dataclass(frozen=True)
class AddedFile:
    """What became of one file: its image id (None when skipped), whether it was new, or why not."""

    name: str
    image_id: int | None
    new: bool
    reason: str | None


def add_files(store: Store, collection: str, files: Sequence[tuple[str, bytes]]) -> list[AddedFile]:
    """Add ``(name, bytes)`` files to an existing collection; one ``AddedFile`` each, in order."""
    # No ``bomb_warnings_as_errors`` here: it changes process-wide filters and this runs in
    # concurrent request threads. Images above the pixel limit are refused all the same.
    checked = [_prepare(name, data, store) for name, data in files]
    with store.write() as session:
        wanted = collection_id(session, collection)
        shas = [item.sha256 for item in checked if isinstance(item, NewImage)]
        known = _known(session, wanted, shas)
        new: dict[str, NewImage] = {}
        for item in checked:
            if isinstance(item, NewImage) and item.sha256 not in known:
                new.setdefault(item.sha256, item)
        added = add_images(session, wanted, list(new.values()), keep_data=store.directory is None)
        ids = {**known, **added}
        _record_names(session, checked, ids, new)
    out = []
    for (name, _), item in zip(files, checked, strict=True):
        if isinstance(item, str):
            out.append(AddedFile(name, None, False, item))
        else:
            is_new = new.get(item.sha256) is item
            out.append(AddedFile(name, ids[item.sha256], is_new, None))
    return out


def _prepare(name: str, data: bytes, store: Store) -> NewImage | str:
    """The file as a ``NewImage``, or the reason it cannot be used."""
    try:
        checked = check_image(data)
    except ImageReadError as exc:
        return exc.reason
    sha = sha256_bytes(data)
    if store.directory is not None:
        store.directory.put(sha, data)  # the file first, then the rows (see blobs.py)
    return new_image(name, sha, data, checked, keep_data=store.directory is None, label=None)


def _known(session: Session, collection: int, shas: list[str]) -> dict[str, int]:
    """Image ids of the contents among ``shas`` that the collection holds already."""
    found: dict[str, int] = {}
    for part in chunks(sorted(set(shas))):
        rows = session.execute(
            select(BlobHash.sha256, Image.id)
            .join(Image, Image.blob_id == BlobHash.blob_id)
            .where(BlobHash.sha256.in_(part), Image.collection_id == collection)
        )
        found.update({sha: image_id for sha, image_id in rows})
    return found


def _record_names(
    session: Session, checked: list[NewImage | str], ids: dict[str, int], new: dict[str, NewImage]
) -> None:
    """Record the names under which known contents arrived again, once each."""
    wanted: list[tuple[int, str]] = []
    for item in checked:
        # The file that added a new content gave it its first name; every other file is
        # another name for a content the collection holds.
        if isinstance(item, NewImage) and new.get(item.sha256) is not item:
            wanted.append((ids[item.sha256], item.name))
    if not wanted:
        return
    image_ids = sorted({image_id for image_id, _ in wanted})
    have: set[tuple[int, str]] = set()
    for part in chunks(image_ids):
        others = select(ImageName.image_id, ImageName.name).where(ImageName.image_id.in_(part))
        firsts = select(Image.id, Image.file_name).where(Image.id.in_(part))
        for query in (others, firsts):
            have.update((image_id, name) for image_id, name in session.execute(query))
    add_names(session, [pair for pair in dict.fromkeys(wanted) if pair not in have])
