"""The labeled-folder format, read and written: ``images/`` plus ``labels.csv`` (``file,label``).

It is the simplest way to hand a labeled set to other tools (and to look at it), so every dataset
can be exported to it and loaded back with its labels.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from pixclass.errors import InputError
from pixclass.io.imageset import ImageSet
from pixclass.io.load import ModeArg, SizeArg, load_images
from pixclass.progress import ProgressCallback, report

LABELS_FILE = "labels.csv"
IMAGES_DIR = "images"
# Chunks of files per thread task: PNG encoding of tiny images is quick, so hand-offs must be rare.
EXPORT_CHUNK = 512


def is_labeled_folder(path: Path) -> bool:
    """True when ``path`` holds an ``images/`` folder and a ``labels.csv``."""
    return (path / IMAGES_DIR).is_dir() and (path / LABELS_FILE).is_file()


def read_labels_csv(path: Path) -> dict[str, str]:
    """Map each file name (relative to ``images/``) to its label; rows with no label are left out.

    Raises
    ------
    InputError
        The file cannot be read or lacks the ``file`` and ``label`` columns.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            if "file" not in columns or "label" not in columns:
                found = ", ".join(columns) or "none"
                raise InputError(f"{path} must have the columns file,label (found: {found})")
            rows = [(row["file"] or "", row["label"] or "") for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    return {_normalise_name(file): label.strip() for file, label in rows if label.strip()}


def _normalise_name(file: str) -> str:
    # Accept "images/00001.png", "./00001.png" and Windows separators for the same file.
    name = file.strip().replace("\\", "/").removeprefix("./")
    return name.removeprefix(IMAGES_DIR + "/")


def sorted_class_names(values: Sequence[str]) -> list[str]:
    """Distinct labels, numerically when they are all integers ("2" before "10"), else by text."""
    distinct = set(values)
    if all(value.lstrip("-").isdigit() for value in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def load_labeled_folder(
    path: str | Path,
    *,
    mode: ModeArg = "auto",
    size: SizeArg = "auto",
    progress: ProgressCallback | None = None,
    n_jobs: int = 2,
) -> ImageSet:
    """Load ``path/images`` with the labels of ``path/labels.csv``.

    Labels become integers indexing ``class_names`` (sorted). An image with no row in
    ``labels.csv`` gets the label -1 ("unknown"). Names are relative to ``images/``, as in the CSV.
    """
    path = Path(path)
    by_file = read_labels_csv(path / LABELS_FILE)
    imageset = load_images(
        path / IMAGES_DIR, mode=mode, size=size, progress=progress, n_jobs=n_jobs
    )
    class_names = sorted_class_names(list(by_file.values()))
    index = {name: i for i, name in enumerate(class_names)}
    labels = np.array([index.get(by_file.get(name, ""), -1) for name in imageset.names])
    imageset.labels = labels.astype(np.int64)
    imageset.class_names = class_names
    imageset.source = str(path)
    return imageset


def _check_destination(images_dir: Path, overwrite: bool) -> None:
    if images_dir.exists() and not images_dir.is_dir():
        raise InputError(f"{images_dir} is a file; choose another destination folder")
    if images_dir.is_dir() and any(images_dir.iterdir()) and not overwrite:
        raise InputError(
            f"{images_dir} already holds files; choose an empty folder or use --overwrite"
        )


def export_dataset(
    imageset: ImageSet,
    dest_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    n_jobs: int = 2,
) -> Path:
    """Write ``imageset`` as PNG files in ``DEST/images/`` and their labels in ``DEST/labels.csv``.

    Files are numbered ``00000.png``, ``00001.png``... (more digits past 99,999 images). The label
    column holds the class name when known, else the label number, and is empty for no label.
    The images are written into a hidden folder first and renamed into place at the end, so an
    interrupted export never leaves a half-filled ``images/``.

    Parameters
    ----------
    imageset : ImageSet
    dest_dir : str or Path
        Created if needed.
    overwrite : bool, default=False
        Replace an ``images/`` folder that already holds files.
    progress : callable, optional
        Called as ``progress("export", done, total)``.
    n_jobs : int, default=2
        Encoding threads.

    Returns
    -------
    Path
        ``dest_dir``, holding ``images/`` and ``labels.csv``.

    Raises
    ------
    InputError
        ``images/`` is not empty and ``overwrite`` is False, or the folder cannot be written.
    """
    dest = Path(dest_dir)
    images_dir = dest / IMAGES_DIR
    _check_destination(images_dir, overwrite)
    width = max(5, len(str(len(imageset) - 1)))
    files = [f"{i:0{width}d}.png" for i in range(len(imageset))]
    try:
        dest.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".images-", dir=dest))
        labels_tmp = dest / f".labels-{secrets.token_hex(6)}.csv"
        try:
            _write_pngs(imageset.images, staging, files, report(progress), n_jobs)
            _write_labels(imageset, files, labels_tmp)
            _swap_in(staging, images_dir)
            os.replace(labels_tmp, dest / LABELS_FILE)
        finally:
            # Whatever did not make it into place (after an error or Ctrl-C) is removed.
            shutil.rmtree(staging, ignore_errors=True)
            labels_tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write the export to {dest}: {exc.strerror or exc}") from exc
    return dest


def _write_pngs(
    images: np.ndarray, folder: Path, files: list[str], progress: ProgressCallback, n_jobs: int
) -> None:
    def work(start: int) -> int:
        stop = min(start + EXPORT_CHUNK, len(files))
        for i in range(start, stop):
            Image.fromarray(images[i]).save(folder / files[i], format="PNG")
        return stop - start

    done = 0
    progress("export", 0, len(files))
    pool = ThreadPoolExecutor(max(1, n_jobs))
    try:
        for count in pool.map(work, range(0, len(files), EXPORT_CHUNK)):
            done += count
            progress("export", done, len(files))
    finally:
        # After an error or Ctrl-C, drop the chunks not started instead of writing them all.
        pool.shutdown(cancel_futures=True)


def _label_text(imageset: ImageSet, i: int) -> str:
    if imageset.labels is None or imageset.labels[i] < 0:
        return ""
    label = int(imageset.labels[i])
    names = imageset.class_names
    return names[label] if names is not None and label < len(names) else str(label)


def _write_labels(imageset: ImageSet, files: list[str], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "label"])
        writer.writerows([file, _label_text(imageset, i)] for i, file in enumerate(files))


def _swap_in(staging: Path, images_dir: Path) -> None:
    """Put ``staging`` where ``images_dir`` is, removing the old folder only once the new is in."""
    if images_dir.exists():
        old = images_dir.with_name(f".images-old-{secrets.token_hex(6)}")
        images_dir.rename(old)
        staging.rename(images_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(images_dir)
