"""Reading and writing assignment CSVs (``path,cluster,confidence``) and skipped-file reports."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from pixclass.errors import InputError
from pixclass.io.files import atomic_file
from pixclass.io.imageset import SkippedImage

ASSIGNMENT_HEADER = ["path", "cluster", "confidence"]


@contextmanager
def _atomic_text(path: str | Path) -> Iterator[IO[str]]:
    """Write a text file via a temporary sibling, so a crash never leaves half a CSV."""
    if str(path) == "-":
        yield sys.stdout
        return
    with atomic_file(Path(path), text=True) as handle:
        yield handle


def write_assignments(
    path: str | Path, names: Sequence[str], labels: np.ndarray, confidence: np.ndarray
) -> None:
    """One row per image: ``path,cluster,confidence`` (confidence with 4 decimals)."""
    with _atomic_text(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(ASSIGNMENT_HEADER)
        for name, label, conf in zip(names, labels, confidence, strict=True):
            writer.writerow([name, int(label), f"{float(conf):.4f}"])


def errors_path(output: str | Path) -> Path:
    """``<output>.errors.csv`` beside the assignments (``assignments.errors.csv``)."""
    output = Path(output)
    return output.with_name(output.stem + ".errors.csv")


def write_skipped(path: str | Path, skipped: Sequence[SkippedImage]) -> None:
    with _atomic_text(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "reason"])
        for item in skipped:
            writer.writerow([item.path, item.reason])


def read_assignments(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Paths and cluster ids from an assignments CSV; clear errors for a wrong file."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"path", "cluster"} <= set(reader.fieldnames):
                raise InputError(
                    f"{path} is not an assignments file: expected the header "
                    f"{','.join(ASSIGNMENT_HEADER)} (as written by `pixclass cluster`)"
                )
            names, clusters = [], []
            for line, row in enumerate(reader, start=2):
                try:
                    clusters.append(int(row["cluster"]))
                except (TypeError, ValueError) as exc:
                    raise InputError(
                        f"{path}, line {line}: cluster {row['cluster']!r} is not a whole number"
                    ) from exc
                names.append(row["path"])
    except FileNotFoundError as exc:
        raise InputError(f"no such file: {path}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a text CSV file") from exc
    return names, np.asarray(clusters, dtype=np.int64)


def read_labels(path: str | Path) -> dict[str, str]:
    """``file -> label`` from a CSV with columns ``file,label`` (as ``datasets export`` writes)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or [])
            if not {"file", "label"} <= fields:
                raise InputError(f"{path} must have the columns file,label")
            return {row["file"]: row["label"] for row in reader}
    except FileNotFoundError as exc:
        raise InputError(f"no such file: {path}") from exc
