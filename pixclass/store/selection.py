"""Export a chosen set of images of a run (a selection on the map): a CSV listing or a zip with
one folder per class, in the same formats as ``export``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pixclass.errors import InputError
from pixclass.progress import report
from pixclass.store.db import Store
from pixclass.store.export import ExportReport, _csv_text, _write_text, _write_zip, export_rows
from pixclass.store.runs import get_run

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
