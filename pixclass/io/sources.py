"""Find the image files in what the user gave: a folder, a ``.zip``, or a list of paths.

Nothing is decoded here; each file becomes an ``ImageEntry`` that knows its display name and how
to read its bytes, so the loader treats folders and archives the same way.
"""

from __future__ import annotations

import os
import stat
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from zlib import error as zlib_error

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.io.decode import (
    MAX_FILE_BYTES,
    NOT_REGULAR,
    ImageReadError,
    MiB,
    has_image_extension,
    read_file_bytes,
    too_large_reason,
)
from pixclass.io.imageset import SkippedImage

DATASET_NAMES = ("mnist", "fashion-mnist", "digits")
SOURCE_HINT = "give a folder, a .zip, or a dataset name (" + ", ".join(DATASET_NAMES) + ")"

Source = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class ReadLimits:
    """How much may be read: one file (or one zip member, unpacked), and one whole archive.

    Build one with ``ReadLimits.from_settings``; the defaults are those of ``Settings``.
    """

    max_file: int = MAX_FILE_BYTES
    max_archive: int = 4096 * MiB

    @classmethod
    def from_settings(cls, settings: Settings | None) -> ReadLimits:
        if settings is None:
            return cls()
        return cls(settings.file_max_mb * MiB, settings.archive_max_mb * MiB)


class ZipArchive:
    """One open zip file whose members can be read from several threads, within ``ReadLimits``.

    ``zipfile`` shares one file handle between members; the lock keeps reads from interleaving.
    Decoding, the expensive part, happens outside the lock. The file closes when the last entry
    referring to it is gone.

    A member's declared size can lie, so it only decides early refusals: every read is itself
    bounded (at most one byte past the limit is unpacked), and the bytes unpacked from the whole
    archive are counted, so a "zip bomb" stops at ``max_archive`` whatever its headers say.
    """

    def __init__(self, path: Path, limits: ReadLimits | None = None) -> None:
        self.path = path
        self.limits = limits or ReadLimits()
        self._zip = zipfile.ZipFile(path)
        self._lock = threading.Lock()
        self._unpacked = 0

    def names(self) -> list[str]:
        return [info.filename for info in self._zip.infolist() if not info.is_dir()]

    def read(self, member: str) -> bytes:
        limit = self.limits.max_file
        try:
            info = self._zip.getinfo(member)
            if info.file_size > limit:
                raise ImageReadError(too_large_reason(info.file_size, limit, "zip member"))
            with self._lock:
                self._check_archive_total()
                with self._zip.open(info) as member_file:
                    data = member_file.read(limit + 1)
                self._unpacked += len(data)
        except RuntimeError as exc:  # zipfile's way of saying "encrypted"
            raise ImageReadError(f"cannot read zip member: {exc}") from exc
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib_error) as exc:
            raise ImageReadError(f"corrupt zip member ({exc})") from exc
        if len(data) > limit:
            raise ImageReadError(
                f"zip member unpacks to more than its declared size and over the limit of "
                f"{limit / MiB:g} MiB (a zip bomb?)"
            )
        return data

    def _check_archive_total(self) -> None:
        if self._unpacked >= self.limits.max_archive:
            raise ImageReadError(
                f"not read: the archive already unpacked to "
                f"{self._unpacked / MiB:.0f} MiB, the limit for one archive (setting "
                "archive_max_mb)"
            )

    def close(self) -> None:
        self._zip.close()


@dataclass(frozen=True)
class ImageEntry:
    """One image to read.

    Attributes
    ----------
    name : str
        What the user sees: the path relative to the folder or zip, or the path as given.
    path : Path or None
        The file on disk; None for a zip member.
    """

    name: str
    path: Path | None = None
    archive: ZipArchive | None = field(default=None, repr=False, compare=False)
    member: str = ""
    max_bytes: int = field(default=MAX_FILE_BYTES, repr=False, compare=False)

    def read_bytes(self) -> bytes:
        """The encoded image. Raises ``ImageReadError`` (with a reason) when it cannot be read."""
        if self.archive is not None:
            data = self.archive.read(self.member)
            if not data:
                raise ImageReadError("empty file (0 bytes)")
            return data
        assert self.path is not None
        try:
            return read_file_bytes(self.path, self.max_bytes)
        except ImageReadError as exc:
            raise ImageReadError(exc.reason) from exc


def find_images(
    source: Source, limits: ReadLimits | None = None
) -> tuple[list[ImageEntry], list[SkippedImage]]:
    """List the images in a folder, a zip file, or a list of paths, in a stable order.

    Parameters
    ----------
    source : str, Path or sequence of them
        A folder (searched recursively; hidden files and folders are ignored; a ``.zip`` in it is
        opened too, its members named ``sub/set.zip/member.png``), a ``.zip`` (members with an
        image extension; macOS ``__MACOSX/`` metadata is ignored), a single file, or a list of
        files (each is tried, whatever its extension).
    limits : ReadLimits, optional
        Largest file and most unpacked from one archive; see ``Settings.file_max_mb``.

    Returns
    -------
    entries : list of ImageEntry
    skipped : list of SkippedImage
        What is known to be unusable without reading it: listed files that do not exist, and in
        a folder anything that is not a regular file (FIFOs, devices, broken links), files over
        the size limit, and archives that cannot be opened.

    Raises
    ------
    InputError
        ``source`` does not exist, or is a zip file that cannot be opened.
    """
    limits = limits or ReadLimits()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            return _folder_entries(path, limits)
        if path.is_file() and path.suffix.lower() == ".zip":
            return _zip_entries(path, limits), []
        if not path.exists():
            raise InputError(f"no such file or directory: {source} — {SOURCE_HINT}")
        return _list_entries([path], limits)
    return _list_entries(source, limits)


def _folder_entries(
    folder: Path, limits: ReadLimits
) -> tuple[list[ImageEntry], list[SkippedImage]]:
    entries: list[ImageEntry] = []
    skipped: list[SkippedImage] = []
    for name, path in _walk(folder):
        is_zip = name.lower().endswith(".zip")
        if not (is_zip or has_image_extension(name)):
            continue
        if is_zip:
            members, bad = archive_entries(path, name, limits)
            entries += members
            skipped += bad
            continue
        problem = _unusable_file(path, limits)
        if problem is not None:
            skipped.append(SkippedImage(path=name, reason=problem))
        else:
            entries.append(ImageEntry(name=name, path=path, max_bytes=limits.max_file))
    entries.sort(key=lambda entry: entry.name)
    return entries, skipped


def archive_entries(
    path: Path, name: str, limits: ReadLimits | None = None
) -> tuple[list[ImageEntry], list[SkippedImage]]:
    """The images of the ``.zip`` at ``path``, named ``NAME/member.png``, read within ``limits``.

    The one way an archive inside something else is opened (a folder, an upload, a watched
    inbox): an archive that is not a regular file, is over ``limits.max_archive`` or cannot be
    opened is one skipped entry named ``name``, never a failure of the rest.
    """
    limits = limits or ReadLimits()
    problem = _unusable_file(path, limits)
    if problem is not None:
        return [], [SkippedImage(path=name, reason=problem)]
    try:
        members = _zip_entries(path, limits)
    except BadArchiveError as exc:
        return [], [SkippedImage(path=name, reason=_archive_reason(exc))]
    return [_nested(entry, name) for entry in members], []


def _walk(folder: Path) -> list[tuple[str, Path]]:
    """(name relative to ``folder``, path) of every non-hidden file name, sorted by name.

    ``os.walk`` does not follow links to folders (no loops); a link to a file is listed and
    checked like a file.
    """
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder):
        # Editing ``dirs`` in place stops os.walk from descending into hidden folders (.git, ...).
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        root_path = Path(root)
        prefix = root_path.relative_to(folder).as_posix() + "/"
        prefix = "" if prefix == "./" else prefix
        found += [(prefix + f, root_path / f) for f in files if not f.startswith(".")]
    found.sort()
    return found


def _unusable_file(path: Path, limits: ReadLimits) -> str | None:
    """Why a listed file cannot be read, without opening it; None when it may be."""
    try:
        info = path.stat()  # follows links: a link is judged by what it points at
    except FileNotFoundError:
        return "broken link (it points at nothing)"
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return NOT_REGULAR
    limit = limits.max_archive if path.suffix.lower() == ".zip" else limits.max_file
    if info.st_size > limit:
        return too_large_reason(info.st_size, limit)
    return None


class BadArchiveError(InputError):
    """A ``.zip`` that cannot be opened; ``cause`` says why without naming its path."""

    def __init__(self, path: Path, cause: str) -> None:
        super().__init__(
            f"cannot open {path} as a zip file ({cause}); re-create the archive, or unpack it "
            "and give the folder"
        )
        self.cause = cause


def _archive_reason(exc: BadArchiveError) -> str:
    # The entry names the archive as the user knows it; the server-side path stays out.
    return f"cannot open as a zip file ({exc.cause}); re-create the archive"


def _nested(entry: ImageEntry, archive_name: str) -> ImageEntry:
    return ImageEntry(
        name=f"{archive_name}/{entry.name}", archive=entry.archive, member=entry.member
    )


def _zip_entries(path: Path, limits: ReadLimits) -> list[ImageEntry]:
    try:
        archive = ZipArchive(path, limits)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise BadArchiveError(path, str(exc)) from exc
    entries = []
    for member in archive.names():
        name = safe_member_name(member)
        if name and not _is_hidden(name) and has_image_extension(name):
            entries.append(ImageEntry(name=name, archive=archive, member=member))
    entries.sort(key=lambda entry: entry.name)
    return entries


def safe_member_name(member: str) -> str:
    """A zip member name that cannot point outside a folder (no drive, no root, no ``..``).

    Archives can hold names like ``../../etc/passwd`` ("zip slip"); names are only displayed and
    exported here, but keeping them tame means no later step has to think about it.
    """
    parts = PurePosixPath(member.replace("\\", "/")).parts
    kept = [part for part in parts if part not in ("", ".", "..", "/") and not part.endswith(":")]
    return "/".join(kept)


def _is_hidden(name: str) -> bool:
    # __MACOSX/ and ._name files are resource forks that Finder adds to every zip it makes.
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _list_entries(
    paths: Sequence[str | Path], limits: ReadLimits
) -> tuple[list[ImageEntry], list[SkippedImage]]:
    entries: list[ImageEntry] = []
    skipped: list[SkippedImage] = []
    for item in paths:
        path = Path(item)
        if not path.exists():
            skipped.append(SkippedImage(path=str(item), reason="file not found"))
        else:
            entries.append(ImageEntry(name=str(item), path=path, max_bytes=limits.max_file))
    return entries, skipped
