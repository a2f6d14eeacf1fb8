"""The map's points: where each image of a run lies, with its class now.

A finished run's positions never change, so they are read once and kept (an LRU per open store,
like the loaded models); each request reads only the classes, which corrections change. On
70,000 images that turns a 70,000-row read per request into about ten short rows.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from datetime import datetime

from pixclass.store.db import Store
from pixclass.store.maps import (
    MapPoints,
    MapPositions,
    class_members,
    join_classes,
    map_key,
    map_positions,
)

# Runs whose positions stay in memory: 70,000 images take 1.1 MB.
CACHED_MAPS = 8

Key = tuple[int, datetime]


class KeptPositions:
    """The positions of the finished runs last shown, least recently used dropped first."""

    def __init__(self, size: int = CACHED_MAPS) -> None:
        self.size = size
        self._kept: OrderedDict[Key, MapPositions] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, run_id: int) -> MapPositions:
        key = map_key(store, run_id)
        if key is None:  # a run still being written: its positions are not final
            return map_positions(store, run_id)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        positions = map_positions(store, run_id)
        with self._lock:
            self._kept[key] = positions
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return positions


_KEPT: weakref.WeakKeyDictionary[Store, KeptPositions] = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def map_points(store: Store, run_id: int) -> MapPoints:
    """Every image of run ``run_id`` that has a map position, with its class (-1: unknown)."""
    with _KEPT_LOCK:
        kept = _KEPT.get(store)
        if kept is None:
            kept = _KEPT[store] = KeptPositions()
    return join_classes(kept.get(store, run_id), class_members(store, run_id))


__all__ = ["MapPoints", "map_points"]
