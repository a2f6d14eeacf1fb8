"""Receive uploaded files: streamed to a fresh folder inside the data dir, never anywhere else.

The multipart body is parsed as it arrives (nothing is held in memory or written to the system
temp dir); each file is written under a sanitised name (no ``..``, no absolute paths, no control
characters) and checked to resolve inside the upload folder. Sizes are limited per file and in
total; files that are not images or zips (by extension) are listed as skipped, not written.

An upload folder is named after the process that receives it (``upload-PID@HOST-...``) and is
removed when the request ends; a server killed with SIGKILL cannot do that, so the next app that
starts removes the folders of processes that are gone (``remove_stale_uploads``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.io.decode import IMAGE_EXTENSIONS
from pixclass.io.imageset import SkippedImage
from pixclass.services.collections import Store
from pixclass.services.ingest import ingest

UPLOADS_DIR = "uploads"
MAX_FIELD_BYTES = 64 * 1024
MAX_FILES = 100_000
MAX_NAME_PART = 120
MAX_DEPTH = 8
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"\\|?*]')
MiB = 1024 * 1024
# A folder of an older version (no pid in its name) is stale once untouched this long.
STALE_UNNAMED_SECONDS = 24 * 3600


class UploadTooLargeError(InputError):
    """The upload is over the configured size limit."""


@dataclass(frozen=True)
class UploadLimits:
    max_total: int
    max_file: int

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        return cls(settings.upload_max_mb * MiB, settings.upload_file_max_mb * MiB)


@dataclass
class ReceivedUpload:
    """What arrived: the folder of the files, their names, form fields, and what was refused."""

    folder: Path
    files: list[str] = field(default_factory=list)  # relative POSIX paths inside ``folder``
    fields: dict[str, str] = field(default_factory=dict)
    rejected: list[SkippedImage] = field(default_factory=list)
    total_bytes: int = 0
    broken: str | None = None  # why the body could not be read to its end

    def zips_named(self) -> list[str]:
        return [name for name in self.files if name.lower().endswith(".zip")]

    def zips(self) -> list[Path]:
        return [self.folder / name for name in self.zips_named()]

    def images(self) -> list[str]:
        return [name for name in self.files if not name.lower().endswith(".zip")]


def safe_relative_name(filename: str) -> str | None:
    """A file name from a browser made safe to write under a folder, or None if nothing is left.

    Folder uploads send ``dir/sub/file.png``; the folders are kept, but ``..``, ``.``, empty
    parts, drive letters and unsafe characters go, leading dots are dropped (hidden files would be
    ignored by the ingest), and each part is shortened to a sane length.
    """
    parts = []
    for raw in filename.replace("\\", "/").split("/"):
        part = _UNSAFE.sub("_", raw).strip().lstrip(".").strip()
        if not part or part in (".", ".."):
            continue
        if len(part) > MAX_NAME_PART:
            stem, dot, suffix = part.rpartition(".")
            part = (stem[: MAX_NAME_PART - len(suffix) - 1] + dot + suffix) if dot else part
            part = part[:MAX_NAME_PART]
        parts.append(part)
    return "/".join(parts[-MAX_DEPTH:]) or None


def accepted_extension(name: str) -> bool:
    suffix = PurePosixPath(name).suffix.lower()
    return suffix in IMAGE_EXTENSIONS or suffix == ".zip"


@contextmanager
def upload_folder(settings: Settings) -> Iterator[Path]:
    """A new, empty folder under ``<data_dir>/uploads``, removed (with its files) at the end."""
    root = settings.data_dir / UPLOADS_DIR
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"upload-{_owner()}-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _owner() -> str:
    host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64]
    return f"{os.getpid()}@{host}"


def remove_stale_uploads(settings: Settings) -> list[Path]:
    """Remove the upload folders of servers that died mid-upload; returns what was removed.

    A folder is stale when the process named in it is gone from this host, or, for a folder
    without a pid, when nothing in it changed for a day. Folders of other hosts (a shared data
    dir) are left to them.
    """
    root = settings.data_dir / UPLOADS_DIR
    if not root.is_dir():
        return []
    removed = []
    for folder in root.glob("upload-*"):
        if folder.is_dir() and _is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _is_stale(folder: Path) -> bool:
    owner = folder.name.removeprefix("upload-").rsplit("-", 1)[0]
    pid, at, host = owner.partition("@")
    if at and pid.isdigit():
        return host == _owner().partition("@")[2] and not _process_exists(int(pid))
    try:
        return time.time() - folder.stat().st_mtime > STALE_UNNAMED_SECONDS
    except OSError:
        return False


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def receive_upload(request: Request, folder: Path, limits: UploadLimits) -> ReceivedUpload:
    """Stream a ``multipart/form-data`` request body into ``folder``.

    Raises
    ------
    UploadTooLargeError
        The body is over ``limits.max_total``.
    InputError
        The request is not a multipart form.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InputError("send the files as multipart/form-data (a form with file inputs)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_total + MiB:
        raise _too_large(limits)
    receiver = _Receiver(folder, limits)
    parser = MultipartParser(boundary, receiver.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:  # the files that arrived whole before it are kept
        receiver.result.broken = str(exc)
    finally:
        receiver.close()
    return receiver.result


def _too_large(limits: UploadLimits) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"the upload is larger than {limits.max_total // MiB} MiB; send fewer files at once or "
        "raise upload_max_mb in the configuration"
    )


class _Receiver:
    """The multipart parser's callbacks: headers -> decide; data -> write or collect."""

    def __init__(self, folder: Path, limits: UploadLimits) -> None:
        self.folder = folder
        self.root = folder.resolve()
        self.limits = limits
        self.result = ReceivedUpload(folder)
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._field: str | None = None
        self._value = bytearray()
        self._file: IO[bytes] | None = None
        self._file_name = ""
        self._file_size = 0
        self._skip = False

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._field, self._file, self._skip = None, None, False
        self._value = bytearray()
        self._file_size = 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self._field = name
            return
        self._open_file(filename.decode("utf-8", "replace"))

    def _open_file(self, given: str) -> None:
        if not given:  # an empty file input sends a part with no file name
            self._skip = True
            return
        name = safe_relative_name(given)
        if name is None or not accepted_extension(name):
            self._reject(given, "not an image or .zip file (by its name)")
            return
        if len(self.result.files) >= MAX_FILES:
            self._reject(given, f"more than {MAX_FILES} files in one upload")
            return
        target = self._unique(name)
        if not target.resolve().is_relative_to(self.root):  # belt and braces after sanitising
            self._reject(given, "file name points outside the upload folder")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        self._file = target.open("xb")
        self._file_name = target.relative_to(self.folder).as_posix()

    def _unique(self, name: str) -> Path:
        target = self.folder / name
        n = 1
        while target.exists():
            n += 1
            stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
            parent = PurePosixPath(name).parent
            target = self.folder / parent / f"{stem}-{n}{suffix}"
        return target

    def _reject(self, name: str, reason: str) -> None:
        self.result.rejected.append(SkippedImage(path=name, reason=reason))
        self._skip = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        self.result.total_bytes += size
        if self.result.total_bytes > self.limits.max_total:
            raise _too_large(self.limits)
        if self._skip:
            return
        if self._file is not None:
            self._file_size += size
            is_zip = self._file_name.lower().endswith(".zip")
            if not is_zip and self._file_size > self.limits.max_file:
                self._drop_file(f"larger than {self.limits.max_file // MiB} MiB")
                return
            self._file.write(data[start:end])
        elif self._field is not None:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise InputError(f"form field {self._field!r} is too long")

    def _drop_file(self, reason: str) -> None:
        assert self._file is not None
        self._file.close()
        (self.folder / self._file_name).unlink(missing_ok=True)
        self._reject(self._file_name, reason)
        self._file = None

    def _part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self.result.files.append(self._file_name)
        elif self._field is not None and not self._skip:
            self.result.fields[self._field] = self._value.decode("utf-8", "replace")
        self._field = None

    def close(self) -> None:
        if self._file is not None:  # a part cut off midway is not kept
            self._file.close()
            (self.folder / self._file_name).unlink(missing_ok=True)
            self._file = None


@dataclass(frozen=True)
class UploadReport:
    """What an upload added to a collection, and every file that could not be used, with why."""

    collection: str
    received: int
    added: int
    present: int
    skipped: list[SkippedImage]
    seconds: float


def ingest_received(
    store: Store, settings: Settings, collection: str, received: ReceivedUpload
) -> UploadReport:
    """Ingest what ``receive_upload`` wrote: the loose images as one folder, each zip on its own."""
    started = time.perf_counter()
    broken = received.broken
    if broken and not received.files:
        raise InputError(f"the upload could not be read ({broken}); nothing was added")
    if not received.files and not received.rejected:
        raise InputError("the upload held no files; choose images, a folder or a .zip")
    # One ingest of the folder: it opens the zips in it too, and a bad one is a skipped entry.
    report = ingest(store, received.folder, collection, settings=settings)
    skipped = [*received.rejected, *(_relative(s, received.folder) for s in report.skipped)]
    if broken:
        raise InputError(
            f"the upload broke off ({broken}); the {len(received.files)} file(s) received "
            f"whole before that were kept ({report.added} added). Send the rest again."
        )
    return UploadReport(
        collection=collection,
        received=len(received.files),
        added=report.added,
        present=report.present,
        skipped=skipped,
        seconds=time.perf_counter() - started,
    )


def _relative(item: SkippedImage, folder: Path) -> SkippedImage:
    """A skipped file named as the user knows it (not by its path in the upload folder)."""
    path = Path(item.path)
    if path.is_absolute() and path.is_relative_to(folder):
        return SkippedImage(path=path.relative_to(folder).as_posix(), reason=item.reason)
    return item


async def upload_to_collection(
    request: Request, store: Store, settings: Settings, collection: str
) -> UploadReport:
    """Receive the files of a request into a fresh upload folder and ingest them."""
    from starlette.concurrency import run_in_threadpool

    with upload_folder(settings) as folder:
        received = await receive_upload(request, folder, UploadLimits.from_settings(settings))
        return await run_in_threadpool(ingest_received, store, settings, collection, received)
