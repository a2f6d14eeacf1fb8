"""The map's data: every image of a run as a point, packed as little-endian arrays.

70,000 points as JSON objects would be several MB to build and parse; as four typed arrays they
are 1.1 MB that the browser reads with no parsing at all (``Float32Array`` views).
"""

from __future__ import annotations

import struct

import numpy as np

from pixclass.services.collections import Store
from pixclass.services.maps import map_points
from pixclass.services.runs import class_cards
from pixclass.web.palette import class_color
from pixclass.web.schemas import MapClass, MapOut

MAGIC = b"PXM1"


def map_meta(store: Store, run_id: int) -> MapOut:
    """The classes with their colours, and where the points are."""
    cards = class_cards(store, run_id, samples=0)
    classes = [
        MapClass(
            index=c.index, display_name=c.display_name, size=c.size, color=class_color(c.index)
        )
        for c in sorted(cards, key=lambda c: c.index)
    ]
    return MapOut(
        run_id=run_id,
        n=sum(c.size for c in cards),
        classes=classes,
        binary=f"/api/runs/{run_id}/map.bin",
    )


def map_binary(store: Store, run_id: int) -> bytes:
    """``PXM1``, n (uint32), then x, y (float32), image id, class (int32), each n long."""
    points = map_points(store, run_id)
    n = len(points.image_ids)
    return b"".join(
        [
            MAGIC,
            struct.pack("<I", n),
            points.x.astype("<f4").tobytes(),
            points.y.astype("<f4").tobytes(),
            points.image_ids.astype("<i4").tobytes(),
            points.cluster.astype("<i4").tobytes(),
        ]
    )


def read_map_binary(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of a ``map_binary`` payload (for tests and scripts)."""
    if data[:4] != MAGIC:
        raise ValueError("not a pixclass map payload")
    (n,) = struct.unpack("<I", data[4:8])
    out = {}
    offset = 8
    for name, dtype in (("x", "<f4"), ("y", "<f4"), ("image_id", "<i4"), ("cluster", "<i4")):
        out[name] = np.frombuffer(data, dtype=dtype, count=n, offset=offset)
        offset += 4 * n
    return out
