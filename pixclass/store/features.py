"""Feature vectors per (image, extractor), as float32 bytes: computed once, reused by later runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import delete, insert, select

from pixclass.store.blobs import chunks
from pixclass.store.db import Store
from pixclass.store.schema import Feature


def save_features(
    store: Store, extractor: str, image_ids: Sequence[int], vectors: np.ndarray
) -> None:
    """Store one vector per image for ``extractor`` (a key that names the extractor and its
    parameters, e.g. ``"hog:cell=4"``), replacing earlier ones."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(image_ids):
        raise ValueError("vectors must have shape (len(image_ids), dim)")
    ids = [int(i) for i in image_ids]
    with store.write() as session:
        for part in chunks(ids):
            session.execute(
                delete(Feature).where(Feature.extractor == extractor, Feature.image_id.in_(part))
            )
        rows = [
            {"image_id": i, "extractor": extractor, "dim": vectors.shape[1], "data": v.tobytes()}
            for i, v in zip(ids, vectors, strict=True)
        ]
        if rows:
            session.execute(insert(Feature), rows)


def load_features(
    store: Store, extractor: str, image_ids: Sequence[int]
) -> tuple[np.ndarray, list[int]]:
    """The stored vectors of ``image_ids`` for ``extractor``.

    Returns
    -------
    vectors : ndarray of shape (n_found, dim), float32
        In the order of ``image_ids``, for the images that have one.
    missing : list of int
        The image ids without a stored vector (compute and ``save_features`` them).
    """
    ids = [int(i) for i in image_ids]
    found: dict[int, bytes] = {}
    with store.session() as session:
        for part in chunks(ids):
            rows = session.execute(
                select(Feature.image_id, Feature.data).where(
                    Feature.extractor == extractor, Feature.image_id.in_(part)
                )
            )
            found.update({image_id: bytes(data) for image_id, data in rows})
    have = [i for i in ids if i in found]
    if not have:
        return np.zeros((0, 0), dtype=np.float32), ids
    vectors = np.stack([np.frombuffer(found[i], dtype=np.float32) for i in have])
    return vectors, [i for i in ids if i not in found]
