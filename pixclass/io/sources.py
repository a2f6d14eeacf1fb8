"""Find the image files in what the user gave: a folder, a ``.zip``, or a list of paths.

Nothing is decoded here; each file becomes an ``ImageEntry`` that knows its display name and how
to read its bytes, so the loader treats folders and archives the same way.
"""

from __future__ import annotations

import os
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pixclass.errors import InputError
from pixclass.io.decode import ImageReadError, has_image_extension, read_file_bytes
from pixclass.io.imageset import SkippedImage

DATASET_NAMES = ("mnist", "fashion-mnist", "digits")
SOURCE_HINT = "give a folder, a .zip, or a dataset name (" + ", ".join(DATASET_NAMES) + ")"

Source = str | Path | Sequence[str | Path]


class ZipArchive:
    """One open zip file whose members can be read from several threads.

    ``zipfile`` shares one file handle between members; the lock keeps reads from interleaving.
    Decoding, the expensive part, happens outside the lock. The file closes when the last entry
    referring to it is gone.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path)
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [info.filename for info in self._zip.infolist() if not info.is_dir()]

    def read(self, member: str) -> bytes:
        try:
            with self._lock:
                return self._zip.read(member)
        except RuntimeError as exc:  # zipfile's way of saying "encrypted"
            raise ImageReadError(f"cannot read zip member: {exc}") from exc
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ImageReadError(f"corrupt zip member ({exc})") from exc

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

    def read_bytes(self) -> bytes:
        """The encoded image. Raises ``ImageReadError`` (with a reason) when it cannot be read."""
        if self.archive is not None:
            data = self.archive.read(self.member)
            if not data:
                raise ImageReadError("empty file (0 bytes)")
            return data
        assert self.path is not None
        try:
            return read_file_bytes(self.path)
        except ImageReadError as exc:
            raise ImageReadError(exc.reason) from exc


def find_images(source: Source) -> tuple[list[ImageEntry], list[SkippedImage]]:
    """List the images in a folder, a zip file, or a list of paths, in a stable order.

    Parameters
    ----------
    source : str, Path or sequence of them
        A folder (searched recursively; hidden files and folders are ignored), a ``.zip`` (members
        with an image extension; macOS ``__MACOSX/`` metadata is ignored), a single file, or a list
        of files (each is tried, whatever its extension).

    Returns
    -------
    entries : list of ImageEntry
    skipped : list of SkippedImage
        Listed files that do not exist.

    Raises
    ------
    InputError
        ``source`` does not exist, or is a zip file that cannot be opened.
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            return _folder_entries(path), []
        if path.is_file() and path.suffix.lower() == ".zip":
            return _zip_entries(path), []
        if not path.exists():
            raise InputError(f"no such file or directory: {source} — {SOURCE_HINT}")
        return _list_entries([path])
    return _list_entries(source)


def _folder_entries(folder: Path) -> list[ImageEntry]:
    found: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(folder):
        # Editing ``dirs`` in place stops os.walk from descending into hidden folders (.git, ...).
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        root_path = Path(root)
        prefix = root_path.relative_to(folder).as_posix() + "/"
        prefix = "" if prefix == "./" else prefix
        for filename in files:
            if not filename.startswith(".") and has_image_extension(filename):
                found.append((prefix + filename, root_path / filename))
    found.sort()
    return [ImageEntry(name=name, path=path) for name, path in found]


def _zip_entries(path: Path) -> list[ImageEntry]:
    try:
        archive = ZipArchive(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(
            f"cannot open {path} as a zip file ({exc}); re-create the archive, or unpack it "
            "and give the folder"
        ) from exc
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


def _list_entries(paths: Sequence[str | Path]) -> tuple[list[ImageEntry], list[SkippedImage]]:
    entries: list[ImageEntry] = []
    skipped: list[SkippedImage] = []
    for item in paths:
        path = Path(item)
        if not path.exists():
            skipped.append(SkippedImage(path=str(item), reason="file not found"))
        else:
            entries.append(ImageEntry(name=str(item), path=path))
    return entries, skipped
