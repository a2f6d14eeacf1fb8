"""Images of a collection: adding them in batches, and reading them, their bytes and thumbnails."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from pixclass.errors import NotFoundError
from pixclass.io.thumbnails import CheckedImage, mime_type
from pixclass.store.blobs import add_blobs, chunks, find_blob_ids
from pixclass.store.collections import collection_id
from pixclass.store.db import Store
from pixclass.store.schema import Blob, BlobHash, Collection, Image, ImageName, Thumbnail, utcnow


@dataclass(frozen=True)
class NewImage:
    """An image ready to be added: checked, hashed, with its thumbnail made."""

    name: str
    sha256: str
    data: bytes | None  # None when a directory blob store holds the bytes already
    width: int
    height: int
    mode: str
    format: str
    size_bytes: int
    label: str | None
    thumbnail: bytes | None
    thumbnail_format: str | None


def new_image(
    name: str, sha: str, data: bytes, checked: CheckedImage, *, keep_data: bool, label: str | None
) -> NewImage:
    """The rows-to-be of a checked image (its bytes kept in the row only when ``keep_data``)."""
    info = checked.info
    return NewImage(
        name=name,
        sha256=sha,
        data=data if keep_data else None,
        width=info.width,
        height=info.height,
        mode=info.mode,
        format=info.format or "unknown",
        size_bytes=len(data),
        label=label,
        thumbnail=checked.thumbnail,
        thumbnail_format=checked.thumbnail_format,
    )


@dataclass
class ContentIndex:
    """What a collection holds, for deciding quickly whether a file is new (loaded once).

    Attributes
    ----------
    by_sha : dict of str to int
        Image id of each SHA-256 in the collection.
    names : set of (int, str)
        Every (image id, file name) pair, first names and later ones.
    """

    by_sha: dict[str, int]
    names: set[tuple[int, str]]


def load_content_index(session: Session, collection: int) -> ContentIndex:
    """The ``ContentIndex`` of collection id ``collection``."""
    rows = session.execute(
        select(BlobHash.sha256, Image.id, Image.file_name)
        .join(BlobHash, BlobHash.blob_id == Image.blob_id)
        .where(Image.collection_id == collection)
    )
    by_sha: dict[str, int] = {}
    names: set[tuple[int, str]] = set()
    for sha, image_id, file_name in rows:
        by_sha[sha] = image_id
        names.add((image_id, file_name))
    extra = session.execute(
        select(ImageName.image_id, ImageName.name)
        .join(Image, Image.id == ImageName.image_id)
        .where(Image.collection_id == collection)
    )
    names.update((image_id, name) for image_id, name in extra)
    return ContentIndex(by_sha, names)


def find_content(session: Session, collection: int, shas: Sequence[str]) -> ContentIndex:
    """The part of the ``ContentIndex`` of collection id ``collection`` that holds ``shas``.

    For a handful of files in a large collection: only their hashes are looked up, and only the
    names of the images they are.
    """
    by_sha: dict[str, int] = {}
    for part in chunks(sorted(set(shas))):
        rows = session.execute(
            select(BlobHash.sha256, Image.id)
            .join(Image, Image.blob_id == BlobHash.blob_id)
            .where(BlobHash.sha256.in_(part), Image.collection_id == collection)
        )
        by_sha.update({sha: image_id for sha, image_id in rows})
    names: set[tuple[int, str]] = set()
    for part in chunks(sorted(set(by_sha.values()))):
        others = select(ImageName.image_id, ImageName.name).where(ImageName.image_id.in_(part))
        firsts = select(Image.id, Image.file_name).where(Image.id.in_(part))
        for query in (others, firsts):
            names.update((image_id, name) for image_id, name in session.execute(query))
    return ContentIndex(by_sha, names)


def add_images(
    session: Session,
    collection: int,
    images: Sequence[NewImage],
    *,
    keep_data: bool,
) -> dict[str, int]:
    """Insert new images (SHA-256 not yet in the collection); returns their ids by SHA-256.

    Contents already stored for another collection are shared, not stored again. ``keep_data``
    puts the bytes in the database; otherwise they must be in the blob directory already.
    """
    if not images:
        return {}
    blob_ids = find_blob_ids(session, [image.sha256 for image in images])
    missing = [(i.sha256, i.data or b"") for i in images if i.sha256 not in blob_ids]
    blob_ids.update(add_blobs(session, missing, keep_data=keep_data))
    now = utcnow()
    rows = [
        {
            "collection_id": collection,
            "blob_id": blob_ids[image.sha256],
            "file_name": image.name,
            "width": image.width,
            "height": image.height,
            "mode": image.mode,
            "format": image.format,
            "size_bytes": image.size_bytes,
            "added_at": now,
            "known_label": image.label,
        }
        for image in images
    ]
    ids = session.scalars(insert(Image).returning(Image.id, sort_by_parameter_order=True), rows)
    by_sha = {image.sha256: image_id for image, image_id in zip(images, ids, strict=True)}
    thumbnails = [
        {"image_id": by_sha[i.sha256], "format": i.thumbnail_format, "data": i.thumbnail}
        for i in images
        if i.thumbnail is not None
    ]
    if thumbnails:
        session.execute(insert(Thumbnail), thumbnails)
    return by_sha


def add_names(session: Session, names: Sequence[tuple[int, str]]) -> None:
    """Record more file names (image id, name) for images already stored."""
    if names:
        session.execute(insert(ImageName), [{"image_id": i, "name": n} for i, n in names])


@dataclass(frozen=True)
class ImageRecord:
    """An image as the CLI and web app see it."""

    id: int
    collection: str
    file_name: str
    sha256: str
    width: int
    height: int
    mode: str
    format: str
    size_bytes: int
    added_at: datetime
    known_label: str | None


def image_record_query() -> Select[Image, str, str]:
    return (
        select(Image, BlobHash.sha256, Collection.name)
        .join(BlobHash, BlobHash.blob_id == Image.blob_id)
        .join(Collection, Collection.id == Image.collection_id)
    )


def image_record(image: Image, sha: str, collection: str) -> ImageRecord:
    return ImageRecord(
        id=image.id,
        collection=collection,
        file_name=image.file_name,
        sha256=sha,
        width=image.width,
        height=image.height,
        mode=image.mode,
        format=image.format,
        size_bytes=image.size_bytes,
        added_at=image.added_at,
        known_label=image.known_label,
    )


def list_images(store: Store, collection: str) -> list[ImageRecord]:
    """Every image of a collection, in the order they were added."""
    with store.session() as session:
        wanted = collection_id(session, collection)
        rows = session.execute(
            image_record_query().where(Image.collection_id == wanted).order_by(Image.id)
        )
        return [image_record(image, sha, name) for image, sha, name in rows]


def get_image(store: Store, image_id: int) -> ImageRecord:
    """One image by id; ``NotFoundError`` when there is none."""
    with store.session() as session:
        row = session.execute(image_record_query().where(Image.id == image_id)).first()
        if row is None:
            raise NotFoundError(f"no image with id {image_id}")
        image, sha, collection = row
        return image_record(image, sha, collection)


def image_names(store: Store, image_id: int) -> list[str]:
    """Every file name the image was ingested under, the first one first."""
    with store.session() as session:
        first = session.scalar(select(Image.file_name).where(Image.id == image_id))
        if first is None:
            raise NotFoundError(f"no image with id {image_id}")
        more = session.scalars(
            select(ImageName.name).where(ImageName.image_id == image_id).order_by(ImageName.name)
        )
        return [first, *more]


def read_image_bytes(store: Store, image_id: int) -> bytes:
    """The original bytes of an image, exactly as ingested."""
    return original_bytes(store, image_id)[0]


def original_bytes(store: Store, image_id: int) -> tuple[bytes, str]:
    """The original bytes of an image and its MIME type, in one read."""
    with store.session() as session:
        row = session.execute(
            select(BlobHash.sha256, Image.format)
            .join(BlobHash, BlobHash.blob_id == Image.blob_id)
            .where(Image.id == image_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no image with id {image_id}")
        sha, image_format = row
        return store.blobs(session).get(sha), mime_type(image_format)


def get_thumbnail(store: Store, image_id: int) -> tuple[bytes, str]:
    """The thumbnail of an image and its MIME type (the original when it is small enough)."""
    with store.session() as session:
        thumbnail = session.get(Thumbnail, image_id)
        if thumbnail is not None:
            return bytes(thumbnail.data), mime_type(thumbnail.format)
    return original_bytes(store, image_id)


def iter_image_bytes(
    store: Store, image_ids: Sequence[int], chunk: int = 500
) -> Iterator[list[tuple[int, bytes]]]:
    """The original bytes of ``image_ids``, in that order, ``chunk`` images at a time.

    Reads a chunk per query, so that a collection of photos never has to fit in memory.
    """
    for start in range(0, len(image_ids), chunk):
        part = [int(i) for i in image_ids[start : start + chunk]]
        found: dict[int, bytes | str | None]
        with store.session() as session:
            if store.directory is None:
                query = select(Image.id, Blob.data).join(Blob, Blob.id == Image.blob_id)
                found = {i: d for i, d in session.execute(query.where(Image.id.in_(part)))}
            else:
                by_sha = select(Image.id, BlobHash.sha256).join(
                    BlobHash, BlobHash.blob_id == Image.blob_id
                )
                found = {i: h for i, h in session.execute(by_sha.where(Image.id.in_(part)))}
        out = []
        for image_id in part:
            if image_id not in found:
                raise NotFoundError(f"no image with id {image_id}")
            value = found[image_id]
            if isinstance(value, str) and store.directory is not None:
                out.append((image_id, store.directory.get(value)))
            elif isinstance(value, bytes | bytearray | memoryview):
                out.append((image_id, bytes(value)))
            else:
                raise NotFoundError(
                    f"the bytes of image {image_id} are not in the database; if they were "
                    "ingested with a blob directory, set blob_dir (PIXCLASS_BLOB_DIR) to it"
                )
        yield out


def image_headers(store: Store, collection_id: int) -> list[Any]:
    """Id, file name, header fields and known label of every image of a collection, by id:
    what decoding a collection for clustering needs before it reads any bytes."""
    with store.session() as session:
        return list(
            session.execute(
                select(
                    Image.id,
                    Image.file_name,
                    Image.width,
                    Image.height,
                    Image.mode,
                    Image.format,
                    Image.known_label,
                )
                .where(Image.collection_id == collection_id)
                .order_by(Image.id)
            ).all()
        )
