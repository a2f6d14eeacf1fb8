"""An on-disk cache of feature rows keyed by image content, so a second run embeds nothing twice.

Layout: ``<cache_dir>/features/<extractor key>/`` holds shards, each a pair
``<id>.vecs.npy`` (float32 rows) and ``<id>.keys.npy`` (the image keys, one per row). A shard is
written vectors first, keys last, each through a temporary file and an atomic rename, and only
shards whose keys file exists are read; so a process killed mid-write leaves at worst an orphan
vectors file, never a wrong row. Concurrent writers add separate shards; duplicates are harmless.
Plain ``.npy`` files keep all SQL in ``pixclass.store``.

The extractor key hashes the extractor's name, its parameters that change the features
(``get_params()`` minus ``cache_ignore_params``), its weights' SHA-256 and the shape of the decoded
images, so new weights, a new network input size or a new working size start a new cache. Only
extractors with ``cacheable = True`` (the pretrained networks) are cached; pixels and HOG are
cheaper to recompute than to look up.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import uuid
from pathlib import Path

import numpy as np

from pixclass.errors import InputError
from pixclass.features.base import FeatureExtractor
from pixclass.io.files import atomic_file
from pixclass.progress import ProgressCallback

# Merge shards once there are this many, so lookups open a handful of files, not hundreds.
MAX_SHARDS = 16
# Only shards smaller than this are merged: a collection streamed through the cache in batches
# (``pixclass.cluster.sample``) leaves big shards, and merging those would hold every row of a
# million-image cache in memory at once. At most MAX_SHARDS x MERGE_ROWS rows are merged.
MERGE_ROWS = 100_000
# An extractor that cannot report progress itself runs in about this many chunks (of at least
# MIN_CHUNK rows, so small sets are not cut up for nothing).
PROGRESS_STEPS = 20
MIN_CHUNK = 64


def is_cacheable(extractor: FeatureExtractor) -> bool:
    return bool(getattr(extractor, "cacheable", False))


def extractor_key(extractor: FeatureExtractor, input_shape: tuple[int, ...] = ()) -> str:
    """``<name>-<16 hex digits>`` naming the features this extractor computes from images of
    ``input_shape`` (h, w[, 3]): the same file decoded at another working size is another input.
    """
    ignore = set(getattr(extractor, "cache_ignore_params", ()))
    params = {k: v for k, v in sorted(extractor.get_params().items()) if k not in ignore}
    identity = {
        "name": extractor.name,
        "params": params,
        "weights": getattr(extractor, "weights_sha256", None),
        "input_shape": list(input_shape),
    }
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return f"{extractor.name}-{hashlib.sha256(blob).hexdigest()[:16]}"


def image_keys(images: np.ndarray) -> list[str]:
    """SHA-256 of each decoded image (shape included), for callers without the original bytes."""
    images = np.ascontiguousarray(images)
    shape = repr(images.shape[1:]).encode()
    return [hashlib.sha256(shape + image.tobytes()).hexdigest() for image in images]


def extract_features(
    extractor: FeatureExtractor,
    images: np.ndarray,
    keys: list[str],
    cache_dir: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """``extractor.transform(images)``, computing only the rows the cache does not hold yet.

    Parameters
    ----------
    extractor : FeatureExtractor
    images : ndarray of shape (n, h, w) or (n, h, w, 3), uint8
    keys : list of str, length n
        A content hash per image (SHA-256 of the file's bytes, or ``image_keys(images)``). Equal
        keys must mean equal images; the working size is part of the cache key, so file hashes
        stay correct when the same files are decoded at another size.
    cache_dir : path
        The cache root; rows go under ``<cache_dir>/features/``.
    progress : callable or None
        Passed on to ``transform`` when the extractor accepts it (stage ``"embed"``, counting
        only the rows computed).

    Returns
    -------
    ndarray of shape (n, d), float32
    """
    if len(keys) != len(images):
        raise InputError(f"got {len(keys)} keys for {len(images)} images; give one key per image")
    if not is_cacheable(extractor) or len(images) == 0:
        return _transform(extractor, images, progress)
    key = extractor_key(extractor, images.shape[1:])
    store = FeatureCache(Path(cache_dir) / "features" / key)
    found = store.lookup(keys)
    missing = [key for key in dict.fromkeys(keys) if key not in found]
    if missing:
        first = {key: i for i, key in reversed(list(enumerate(keys)))}
        rows = _transform(extractor, images[[first[key] for key in missing]], progress)
        store.add(missing, rows)
        found.update(zip(missing, rows, strict=True))
    return np.stack([found[key] for key in keys]).astype(np.float32, copy=False)


def _transform(
    extractor: FeatureExtractor, images: np.ndarray, progress: ProgressCallback | None
) -> np.ndarray:
    if progress is None:
        return extractor.transform(images)
    return transform_reporting(extractor, images, progress)


def transform_reporting(
    extractor: FeatureExtractor,
    images: np.ndarray,
    progress: ProgressCallback,
    *,
    stage: str = "embed",
    chunk: int | None = None,
) -> np.ndarray:
    """``extractor.transform(images)`` calling ``progress(stage, done, len(images))`` as it goes.

    An extractor that reports on its own (a ``progress`` keyword, as the networks have) is
    passed the callback; any other is run on chunks of ``chunk`` rows (default: about
    ``PROGRESS_STEPS`` chunks), which gives the same rows because an extractor maps each image
    on its own.
    """
    n = len(images)
    if chunk is None:
        chunk = max(MIN_CHUNK, -(-n // PROGRESS_STEPS))

    def tell(_: str, done: int, total: int) -> None:
        progress(stage, done, total)

    if "progress" in inspect.signature(extractor.transform).parameters:
        result: np.ndarray = extractor.transform(images, progress=tell)  # type: ignore[call-arg]
        return result
    if n <= chunk:
        tell(stage, 0, n)
        rows = extractor.transform(images)
        tell(stage, n, n)
        return rows
    parts = []
    for start in range(0, n, chunk):
        tell(stage, start, n)
        parts.append(extractor.transform(images[start : start + chunk]))
    tell(stage, n, n)
    return np.concatenate(parts)


class FeatureCache:
    """The shards of one extractor key; see the module docstring for the layout."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _shards(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.keys.npy"))

    def lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached rows for those of ``keys`` that have one."""
        wanted = set(keys)
        found: dict[str, np.ndarray] = {}
        for keys_file in self._shards():
            shard = _read_shard(keys_file)
            if shard is None:
                continue
            shard_keys, vecs = shard
            hits = [i for i, key in enumerate(shard_keys) if key in wanted and key not in found]
            if hits:
                rows = np.asarray(vecs[hits], dtype=np.float32)
                found.update(zip(shard_keys[hits].tolist(), rows, strict=True))
        return found

    def add(self, keys: list[str], rows: np.ndarray) -> None:
        """Store ``rows`` (one per key) as a new shard, then merge shards if there are many."""
        if not keys:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_shard(self.folder, np.asarray(keys, dtype=str), np.asarray(rows, dtype=np.float32))
        shards = self._shards()
        if len(shards) > MAX_SHARDS:
            small = [path for path in shards if _shard_rows(path) < MERGE_ROWS]
            if len(small) > 1:
                self._merge(small)

    def _merge(self, shards: list[Path]) -> None:
        parts = [shard for shard in (_read_shard(path) for path in shards) if shard is not None]
        if not parts:
            return
        keys = np.concatenate([k for k, _ in parts])
        vecs = np.concatenate([np.asarray(v) for _, v in parts])
        _, first = np.unique(keys, return_index=True)
        _write_shard(self.folder, keys[first], vecs[first])
        # The merged shard is in place before the old ones go, so no row is ever missing.
        for path in shards:
            path.unlink(missing_ok=True)
            _vecs_path(path).unlink(missing_ok=True)


def _shard_rows(keys_file: Path) -> int:
    """Rows in a shard, from its keys file's header alone (0 for one that cannot be read)."""
    try:
        return len(np.load(keys_file, mmap_mode="r", allow_pickle=False))
    except (OSError, ValueError, EOFError):
        return 0


def _vecs_path(keys_file: Path) -> Path:
    return keys_file.with_name(keys_file.name.removesuffix(".keys.npy") + ".vecs.npy")


def _read_shard(keys_file: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(keys, memory-mapped vectors), or None for a shard that vanished or does not add up."""
    try:
        keys = np.load(keys_file, allow_pickle=False)
        vecs = np.load(_vecs_path(keys_file), mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if keys.ndim != 1 or vecs.ndim != 2 or len(keys) != len(vecs):
        return None
    return keys, vecs


def _write_shard(folder: Path, keys: np.ndarray, vecs: np.ndarray) -> None:
    stem = uuid.uuid4().hex
    _save_atomically(folder / f"{stem}.vecs.npy", vecs)
    _save_atomically(folder / f"{stem}.keys.npy", keys)


def _save_atomically(path: Path, array: np.ndarray) -> None:
    with atomic_file(path) as handle:
        np.save(handle, array, allow_pickle=False)
