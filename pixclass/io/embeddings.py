"""Precomputed vectors for a set of images (``pixclass cluster SOURCE --embeddings FILE``).

Three file kinds, told apart by their suffix:

* ``.npy``: a 2-D float array, row *i* for the *i*-th image in file order (the order of the
  assignments CSV: the paths sorted, as ``pixclass cluster`` lists them). The row count must be
  the number of images read.
* ``.csv``: a header, a ``file`` column (or the first column) with the image's file name, then one
  numeric column per dimension.
* ``.parquet``: a ``file`` column (or the first column) and either one list column (the vector)
  or one numeric column per dimension.

A name matches an image by its path relative to the source (as the assignments CSV writes it),
else by its base name when that is unique. Extra rows are ignored; a missing image, a duplicate
name, a NaN or an infinity is an error that names the rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from pixclass.errors import InputError

SUFFIXES = (".npy", ".csv", ".parquet")
NAME_COLUMNS = ("file", "path", "name", "filename", "image")
SHOW = 5


def read_embeddings(path: str | os.PathLike[str], names: Sequence[str]) -> np.ndarray:
    """The vectors in ``path`` for the images called ``names``, as float32 (len(names), d).

    Raises
    ------
    InputError
        The file is missing or of an unknown kind, or its rows do not cover ``names`` exactly
        once each with finite numbers; the message says which rows and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no embeddings file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        vectors = _read_npy(path, len(names))
        row_names = list(names)
    elif suffix in (".csv", ".parquet"):
        keys, table = _read_table(path, suffix)
        vectors = _align(path, keys, table, names)
        row_names = list(names)
    else:
        raise InputError(
            f"embeddings file {path} has an unknown kind; use {', '.join(SUFFIXES)} "
            "(.npy in file order, .csv/.parquet keyed by file name)"
        )
    _check_finite(path, vectors, row_names)
    return vectors


def _read_npy(path: Path, n_images: int) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read {path} as a .npy array: {exc}") from exc
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise InputError(
            f"{path} holds a {array.dtype} array of shape {array.shape}; embeddings are a 2-D "
            "numeric array, one row per image"
        )
    if len(array) != n_images:
        raise InputError(
            f"{path} has {len(array)} rows but the source has {n_images} readable images; a .npy "
            "needs one row per image in file order (the assignments CSV's order). Use a .csv or "
            ".parquet with a file column to match rows by name instead"
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def _read_table(path: Path, suffix: str) -> tuple[list[str], np.ndarray]:
    """(file names, float matrix) from a CSV or Parquet table."""
    import pandas as pd

    try:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except ImportError as exc:
        raise InputError(f"reading {path} needs pyarrow: pip install pyarrow") from exc
    except Exception as exc:  # pandas and pyarrow raise many kinds for a bad file
        raise InputError(f"cannot read {path} as a {suffix} table: {exc}") from exc
    if frame.shape[1] < 2 or len(frame) == 0:
        raise InputError(
            f"{path} needs a file-name column and at least one vector column with rows; it has "
            f"columns {list(frame.columns)} and {len(frame)} rows"
        )
    lowered = {str(c).lower(): c for c in frame.columns}
    name_column = next((lowered[c] for c in NAME_COLUMNS if c in lowered), frame.columns[0])
    keys = [str(v) for v in frame[name_column]]
    rest = frame.drop(columns=[name_column])
    return keys, _vector_matrix(path, rest)


def _vector_matrix(path: Path, rest: Any) -> np.ndarray:
    column = rest.iloc[:, 0]
    if rest.shape[1] == 1 and column.dtype == object and not isinstance(column.iloc[0], str):
        # one list column, as Parquet writes an array per row
        lengths = {len(v) if hasattr(v, "__len__") else -1 for v in column}
        if len(lengths) != 1 or -1 in lengths:
            raise InputError(f"the vectors in {path} are not all lists of one length")
        try:
            return np.stack([np.asarray(v, dtype=np.float32) for v in column])
        except (TypeError, ValueError) as exc:
            raise InputError(f"the vectors in {path} are not numbers: {exc}") from exc
    bad = [str(c) for c in rest.columns if not np.issubdtype(rest[c].dtype, np.number)]
    if bad:
        raise InputError(
            f"{path} has non-numeric vector column(s) {', '.join(bad[:SHOW])}; after the file "
            "column every column must be a number"
        )
    return np.ascontiguousarray(rest.to_numpy(dtype=np.float32))


def _align(path: Path, keys: list[str], table: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Row ``i`` of the result is the table row whose name is ``names[i]``."""
    by_name: dict[str, int] = {}
    duplicates = []
    for index, key in enumerate(keys):
        if key in by_name:
            duplicates.append(key)
        by_name[key] = index
    if duplicates:
        raise InputError(f"{path} lists these file names twice: {_some(duplicates)}")
    by_base: dict[str, int | None] = {}
    for key, index in by_name.items():
        base = PurePosixPath(key.replace("\\", "/")).name
        by_base[base] = None if base in by_base else index  # None: ambiguous
    rows: list[int] = []
    missing: list[str] = []
    for name in names:
        row: int | None = by_name.get(name)
        if row is None:
            row = by_base.get(PurePosixPath(name.replace("\\", "/")).name)
        if row is None:
            missing.append(name)
        else:
            rows.append(row)
    if missing:
        raise InputError(
            f"{path} has no row for {len(missing)} of the {len(names)} images: {_some(missing)}. "
            "Each image needs a row whose file column is its path relative to the source (as "
            "the assignments CSV writes it) or its unique base name"
        )
    return np.ascontiguousarray(table[rows], dtype=np.float32)


def _check_finite(path: Path, vectors: np.ndarray, names: list[str]) -> None:
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise InputError(
            f"{path} has NaN or infinite values in {len(bad)} row(s), for "
            f"{_some([names[i] for i in bad])}; replace them or leave those images out"
        )


def _some(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOW])
    return shown + (f" and {len(items) - SHOW} more" if len(items) > SHOW else "")
