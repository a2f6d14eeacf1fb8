"""Files the app makes for download (exports): written under ``<data_dir>/exports``, sent, then
removed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from pixclass.config import Settings

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "zip": "application/zip",
}


def download(
    settings: Settings, filename: str, fmt: str, write: Callable[[Path], object]
) -> FileResponse:
    """Call ``write(path)`` on a fresh file in the data dir and send it as ``filename``."""
    folder = settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, suffix=f".{fmt}")
    os.close(fd)
    path = Path(name)
    try:
        write(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"),
        filename=filename,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
