"""Export a collection's classes: a CSV or JSON listing, or the original files sorted into one
folder (or zip folder) per class, byte-identical to what was ingested."""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pixclass.errors import InputError, NotFoundError
from pixclass.progress import ProgressCallback, report
from pixclass.store.collections import collection_id
from pixclass.store.db import Store
from pixclass.store.images import ImageRecord, iter_image_bytes, list_images
from pixclass.store.results import UNKNOWN, effective_classes, list_clusters
from pixclass.store.runs import get_run, latest_done_run, pid_alive

EXPORT_FORMATS = ("csv", "json", "folders", "zip")
CSV_COLUMNS = (
    "image_id",
    "file_name",
    "sha256",
    "class_name",
    "cluster",
    "confidence",
    "set_by_person",
    "known_label",
)
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]')


@dataclass(frozen=True)
class ExportRow:
    image_id: int
    file_name: str
    sha256: str
    class_name: str
    cluster: int | None
    confidence: float | None
    set_by_person: bool
    known_label: str | None


@dataclass(frozen=True)
class ExportReport:
    run_id: int
    n_images: int
    n_classes: int
    dest: str


def export_collection(
    store: Store,
    collection: str,
    dest: str | Path,
    *,
    fmt: str,
    run_id: int | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> ExportReport:
    """Write the classes of a collection's run (default: its newest finished run) to ``dest``.

    Parameters
    ----------
    fmt : {"csv", "json", "folders", "zip"}
        ``csv``/``json`` list every image with its class (``dest`` may be ``-`` for stdout);
        ``folders`` writes ``dest/CLASS/FILE`` with the original bytes; ``zip`` the same inside
        the zip file ``dest``. Class names are a person's name for the cluster, else
        ``cluster-N``; a person's correction of an image wins (see ``results``).
    overwrite : bool, default=False
        Replace an existing ``dest``.

    Raises
    ------
    InputError
        Unknown format, or ``dest`` exists and ``overwrite`` is False.
    NotFoundError
        Unknown collection or run, or no finished run.
    """
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    run_id = _resolve_run(store, collection, run_id)
    rows = export_rows(store, collection, run_id)
    dest_text = str(dest)
    if dest_text != "-":
        _check_dest(Path(dest), fmt, overwrite)
    writers: dict[str, Callable[[], None]] = {
        "csv": lambda: _write_text(dest_text, _csv_text(rows)),
        "json": lambda: _write_text(dest_text, _json_text(store, collection, run_id, rows)),
        "folders": lambda: _write_folders(store, rows, Path(dest), report(progress)),
        "zip": lambda: _write_zip(store, rows, Path(dest), report(progress)),
    }
    writers[fmt]()
    return ExportReport(run_id, len(rows), len({r.class_name for r in rows}), dest_text)


def _resolve_run(store: Store, collection: str, run_id: int | None) -> int:
    with store.session() as session:
        wanted = collection_id(session, collection)
        if run_id is None:
            found = latest_done_run(session, wanted)
            if found is None:
                raise NotFoundError(
                    f"collection {collection!r} has no finished run yet; run "
                    f"`pixclass cluster --collection {collection}` first"
                )
            return found
    run = get_run(store, run_id)
    if run.collection != collection.strip():
        raise InputError(
            f"run {run_id} belongs to collection {run.collection!r}, not {collection!r}"
        )
    if run.status != "done":
        raise InputError(
            f"run {run_id} is {run.status}; only a finished (done) run can be exported"
        )
    return run_id


def export_rows(store: Store, collection: str, run_id: int) -> list[ExportRow]:
    """One row per image of the collection, with its class in run ``run_id``."""
    classes = {c.image_id: c for c in effective_classes(store, run_id)}
    rows = []
    for image in list_images(store, collection):
        found = classes.get(image.id)
        rows.append(_row(image, found))
    return rows


def _row(image: ImageRecord, found: Any) -> ExportRow:
    return ExportRow(
        image_id=image.id,
        file_name=image.file_name,
        sha256=image.sha256,
        class_name=found.class_name if found else UNKNOWN,  # ingested after the run
        cluster=found.cluster if found else None,
        confidence=found.confidence if found else None,
        set_by_person=bool(found and found.set_by_person),
        known_label=image.known_label,
    )


def _check_dest(dest: Path, fmt: str, overwrite: bool) -> None:
    if not dest.exists() or overwrite:
        return
    if fmt == "folders" and dest.is_dir() and not any(dest.iterdir()):
        return
    raise InputError(f"{dest} already exists; choose another destination or use --overwrite")


def _csv_text(rows: list[ExportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = asdict(row)
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return out.getvalue()


def _json_text(store: Store, collection: str, run_id: int, rows: list[ExportRow]) -> str:
    run = get_run(store, run_id)
    document = {
        "collection": collection,
        "run": {
            "id": run.id,
            "features": run.features,
            "n_clusters": run.n_clusters,
            "params": run.params,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        },
        "clusters": [asdict(c) for c in list_clusters(store, run_id)],
        "images": [asdict(row) for row in rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _temporary(dest: Path) -> Path:
    """Where ``dest`` is written before it is renamed into place: ``.NAME.PID.tmp`` beside it.

    An export killed mid-way (SIGKILL) leaves its temporary file; the next export to the same
    place removes those of processes that are gone, so they do not pile up.
    """
    for left in dest.parent.glob(f".{glob.escape(dest.name)}.*.tmp"):
        pid = left.name[len(dest.name) + 2 : -len(".tmp")]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(left, ignore_errors=True) if left.is_dir() else left.unlink(True)
    return dest.with_name(f".{dest.name}.{os.getpid()}.tmp")


def _write_text(dest: str, text: str) -> None:
    if dest == "-":
        sys.stdout.write(text)
        return
    path = Path(dest)
    temp = _temporary(path)
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        temp.unlink(missing_ok=True)


def safe_folder_name(name: str) -> str:
    """A class name usable as one folder name on every system."""
    cleaned = _UNSAFE.sub("_", name).strip().strip(".")
    return cleaned[:120] or "unnamed"


def export_paths(rows: list[ExportRow]) -> dict[int, str]:
    """``CLASS/FILE`` for each image id; clashing file names get ``-2``, ``-3``... before the
    extension, so no file overwrites another."""
    taken: set[str] = set()
    paths = {}
    for row in rows:
        folder = safe_folder_name(row.class_name)
        base = PurePosixPath(row.file_name).name or f"image-{row.image_id}"
        stem, suffix = os.path.splitext(base)
        candidate, n = f"{folder}/{base}", 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{folder}/{stem}-{n}{suffix}"
        taken.add(candidate.lower())
        paths[row.image_id] = candidate
    return paths


def _files(
    store: Store, rows: list[ExportRow], progress: ProgressCallback
) -> Iterator[tuple[str, bytes]]:
    paths = export_paths(rows)
    ids = [row.image_id for row in rows]
    done = 0
    progress("export", 0, len(ids))
    for chunk in iter_image_bytes(store, ids):
        for image_id, data in chunk:
            yield paths[image_id], data
        done += len(chunk)
        progress("export", done, len(ids))


def _write_folders(
    store: Store, rows: list[ExportRow], dest: Path, progress: ProgressCallback
) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Written next to ``dest`` and renamed at the end: an interrupted export leaves no
        # half-filled folder behind.
        staging = _temporary(dest)
        shutil.rmtree(staging, ignore_errors=True)  # one of a dead process with this pid
        staging.mkdir()
        try:
            for relative, data in _files(store, rows, progress):
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            if dest.exists():
                shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
            staging.rename(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise InputError(f"cannot write the export to {dest}: {exc.strerror or exc}") from exc


def _write_zip(store: Store, rows: list[ExportRow], dest: Path, progress: ProgressCallback) -> None:
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = _temporary(dest)
        # Image formats are compressed already: storing them is as small and much faster.
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
            for relative, data in _files(store, rows, progress):
                archive.writestr(relative, data)
        os.replace(temp, dest)
    except OSError as exc:
        raise InputError(f"cannot write the export to {dest}: {exc.strerror or exc}") from exc
    finally:
        temp.unlink(missing_ok=True)


SELECTION_FORMATS = ("csv", "zip")


def export_selection(
    store: Store, run_id: int, image_ids: Sequence[int], dest: str | Path, *, fmt: str
) -> ExportReport:
    """Write the images ``image_ids`` of run ``run_id`` with their classes to ``dest``."""
    if fmt not in SELECTION_FORMATS:
        raise InputError(f"a selection exports as {' or '.join(SELECTION_FORMATS)}, not {fmt!r}")
    wanted = {int(i) for i in image_ids}
    if not wanted:
        raise InputError("select at least one image to export")
    run = get_run(store, run_id)
    rows = [row for row in export_rows(store, run.collection, run_id) if row.image_id in wanted]
    if fmt == "csv":
        _write_text(str(dest), _csv_text(rows))
    else:
        _write_zip(store, rows, Path(dest), report(None))
    return ExportReport(run_id, len(rows), len({r.class_name for r in rows}), str(dest))
