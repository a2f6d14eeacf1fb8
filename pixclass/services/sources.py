"""What ``ingest`` can read: folders, zips, labeled folders, IDX folders and built-in datasets.

Each becomes a list of ``IngestItem``: a name, a way to get the encoded bytes, and the known label
if there is one. Dataset images exist only as arrays, so they are encoded as PNG (lossless) when
read; the PNG is then what is stored, hashed and exported.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.io import datasets, labeled
from pixclass.io.imageset import ImageSet, SkippedImage
from pixclass.io.sources import SOURCE_HINT, ImageEntry, ReadLimits, find_images


@dataclass(frozen=True)
class IngestItem:
    """One image to ingest.

    Attributes
    ----------
    name : str
        The file name stored (relative to the folder or zip, or ``mnist-00042.png``).
    read : callable
        Returns the encoded bytes; raises ``ImageReadError`` when the file cannot be read.
    label : str or None
        Known class, from a dataset or a labeled folder's ``labels.csv``.
    """

    name: str
    read: Callable[[], bytes]
    label: str | None = None


@dataclass(frozen=True)
class IngestSource:
    """The items of a source, the files already known to be unusable, and a name for messages."""

    items: list[IngestItem]
    skipped: list[SkippedImage]
    label: str


def open_source(source: str | Path, settings: Settings | None = None) -> IngestSource:
    """List what ``source`` holds, without reading the images yet.

    Parameters
    ----------
    source : str or Path
        An existing path wins over a dataset name. A folder with ``images/`` and ``labels.csv`` is
        a labeled folder; a folder of IDX files is read as a dataset; any other folder, a ``.zip``
        or a single file is searched for images.
    settings : Settings, optional
        Where to look for datasets.

    Raises
    ------
    InputError
        ``source`` is neither an existing path nor a dataset name.
    """
    path = Path(source)
    if path.exists():
        limits = ReadLimits.from_settings(settings)
        if path.is_dir() and labeled.is_labeled_folder(path):
            return _labeled_folder(path, limits)
        if path.is_dir() and datasets.is_idx_dir(path):
            return _dataset_items(datasets.load_idx_dir(path), str(path))
        entries, skipped = find_images(path, limits)
        return IngestSource([_entry_item(entry) for entry in entries], skipped, str(path))
    if datasets.is_dataset_name(str(source)):
        name = datasets.canonical_name(str(source)) or str(source)
        return _dataset_items(datasets.load_dataset(name, settings), name)
    raise InputError(f"no such file or directory: {source} — {SOURCE_HINT}")


def _entry_item(entry: ImageEntry, label: str | None = None) -> IngestItem:
    return IngestItem(name=entry.name, read=entry.read_bytes, label=label)


def _labeled_folder(path: Path, limits: ReadLimits) -> IngestSource:
    labels = labeled.read_labels_csv(path / labeled.LABELS_FILE)
    entries, skipped = find_images(path / labeled.IMAGES_DIR, limits)
    items = [_entry_item(entry, labels.get(entry.name)) for entry in entries]
    return IngestSource(items, skipped, str(path))


def _dataset_items(imageset: ImageSet, label: str) -> IngestSource:
    width = max(5, len(str(len(imageset) - 1)))
    items = []
    for i, name in enumerate(imageset.names):
        prefix, _, _ = name.rpartition(":")
        file_name = f"{(prefix or label).replace('/', '-')}-{i:0{width}d}.png"
        items.append(
            IngestItem(
                name=file_name,
                read=partial(encode_png, imageset.images, i),
                label=_known_label(imageset, i),
            )
        )
    return IngestSource(items, list(imageset.skipped), label)


def _known_label(imageset: ImageSet, i: int) -> str | None:
    if imageset.labels is None or imageset.labels[i] < 0:
        return None
    value = int(imageset.labels[i])
    names = imageset.class_names
    return names[value] if names is not None and value < len(names) else str(value)


def encode_png(images: np.ndarray, i: int) -> bytes:
    """Image ``i`` of an array as PNG bytes (deterministic, so re-ingesting finds the same hash)."""
    out = io.BytesIO()
    Image.fromarray(images[i]).save(out, format="PNG")
    return out.getvalue()
