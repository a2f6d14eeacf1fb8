"""Decode one image file into a uint8 array, and turn every way a file can be bad into a reason.

Everything image-format specific lives here, so the loaders only see ``bytes -> ndarray`` or an
``ImageReadError`` whose ``reason`` can be shown to the user as is.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pixclass.errors import InputError

DecodeMode = Literal["L", "RGB"]

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"})

# Pillow's own default. An image above it is almost always a crafted "decompression bomb" (a small
# file that inflates to gigabytes), so it is an error, not Pillow's mere warning.
MAX_IMAGE_PIXELS = 89_478_485

# Modes that hold one channel of intensity: a set made only of these is decoded as "L".
# "P" (palette) is counted as colour even when the palette happens to be gray: checking the palette
# is possible but the mistake only costs memory (gray stored three times), never correctness.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
# More than 8 bits per pixel: Pillow's convert("L") clips these instead of scaling, so we scale.
_DEEP_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

_ORIENTATION_TAG = 0x0112
# EXIF orientations 5-8 rotate by 90 degrees, so width and height trade places.
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})

# Largest file read whole into memory by default (``Settings.file_max_mb``).
MiB = 1024 * 1024
MAX_FILE_BYTES = 64 * MiB

EMPTY_FILE = "empty file (0 bytes)"
NOT_REGULAR = "not a regular file (a FIFO, device, socket or folder); only files are read"
NOT_AN_IMAGE = "not an image (unrecognised format)"
TRUNCATED = "truncated image data"


class ImageReadError(InputError):
    """An image that cannot be used.

    Attributes
    ----------
    reason : str
        Why, in words for the user ("truncated image data", ...), without the path.
    path : str or None
        The file, when known.
    """

    def __init__(self, reason: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.path = path


@dataclass(frozen=True)
class ImageInfo:
    """What an image header says; width and height as shown, after EXIF orientation."""

    width: int
    height: int
    mode: str
    format: str | None

    @property
    def is_gray(self) -> bool:
        """True when the image holds one channel of intensity (see ``GRAY_MODES``)."""
        return self.mode in GRAY_MODES


def has_image_extension(name: str | Path) -> bool:
    """True when ``name`` ends in one of ``IMAGE_EXTENSIONS``, in any letter case."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def read_file_bytes(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``; a file-system problem becomes an ``ImageReadError`` with a reason.

    Only a regular file is read, and at most ``max_bytes`` of it: the file is opened without
    blocking (so a FIFO named ``x.png`` cannot hang the caller) and checked after opening (so a
    link swapped in meanwhile cannot point the read at ``/dev/zero``).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ImageReadError(_reason(exc), str(path)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError(not_regular_reason(info.st_mode), str(path))
        if info.st_size > max_bytes:
            raise ImageReadError(too_large_reason(info.st_size, max_bytes), str(path))
        with os.fdopen(fd, "rb") as fh:
            fd = -1  # closed by ``fh`` from here on
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ImageReadError(_reason(exc), str(path)) from exc
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > max_bytes:  # the file grew while it was read
        raise ImageReadError(too_large_reason(len(data), max_bytes), str(path))
    if not data:
        raise ImageReadError(EMPTY_FILE, str(path))
    return data


def not_regular_reason(mode: int) -> str:
    """Why something that is not a regular file is not read."""
    return "is a directory, not an image file" if stat.S_ISDIR(mode) else NOT_REGULAR


def too_large_reason(size: int, limit: int, what: str = "file") -> str:
    """Why a file over the size limit is skipped, and the setting that moves the limit."""
    return (
        f"{what} too large: {size / MiB:.1f} MiB is over the limit of {limit / MiB:g} MiB "
        "(setting file_max_mb)"
    )


@contextlib.contextmanager
def bomb_warnings_as_errors() -> Iterator[None]:
    """Make Pillow's ``DecompressionBombWarning`` an exception for the duration.

    The warnings filters are process-global and ``catch_warnings`` is not thread-safe, so callers
    that decode in a thread pool enter this once, in the calling thread, around the whole pool.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def bomb_guard() -> contextlib.AbstractContextManager[None]:
    """``bomb_warnings_as_errors`` where it is safe to switch on: in the main thread only.

    In another thread (a web request) switching the process-wide filters would race with other
    requests; there the pixel limit of ``read_header`` refuses the same images.
    """
    if threading.current_thread() is threading.main_thread():
        return bomb_warnings_as_errors()
    return contextlib.nullcontext()


def probe_image(data: bytes | str | Path, *, max_pixels: int = MAX_IMAGE_PIXELS) -> ImageInfo:
    """Read the size, mode and format of an image from its header, without decoding the pixels.

    Parameters
    ----------
    data : bytes, str or Path
        The encoded image, or the path of a file.
    max_pixels : int, default=MAX_IMAGE_PIXELS
        Larger images are refused as decompression bombs.

    Raises
    ------
    ImageReadError
        The file cannot be read, is not an image, or is too large.
    """
    path = None if isinstance(data, bytes) else str(data)
    with bomb_warnings_as_errors():
        try:
            return read_header(data, max_pixels=max_pixels)
        except ImageReadError as exc:
            raise ImageReadError(exc.reason, path) from exc


def decode_image(
    data: bytes | str | Path,
    *,
    mode: DecodeMode = "RGB",
    size: tuple[int, int] | None = None,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Decode an image to a uint8 array in one colour mode and, optionally, one size.

    EXIF orientation is applied, animations give their first frame, transparency is composited on
    white (the usual background of scanned and drawn images), and more than 8 bits per channel are
    scaled down rather than clipped.

    Parameters
    ----------
    data : bytes, str or Path
        The encoded image, or the path of a file.
    mode : {"L", "RGB"}, default="RGB"
        Grayscale or colour.
    size : tuple of (int, int) or None, default=None
        (height, width) to resize to with a bilinear filter; None keeps the image's own size.
    max_pixels : int, default=MAX_IMAGE_PIXELS
        Larger images are refused as decompression bombs. Raising it above Pillow's
        ``Image.MAX_IMAGE_PIXELS`` also needs that raised.

    Returns
    -------
    ndarray of shape (h, w) for "L" or (h, w, 3) for "RGB", uint8

    Raises
    ------
    ImageReadError
        With a ``reason`` such as "empty file (0 bytes)" or "truncated image data".
    """
    path = None if isinstance(data, bytes) else str(data)
    with bomb_warnings_as_errors():
        try:
            raw = data if isinstance(data, bytes) else read_file_bytes(data)
            return decode_bytes(raw, mode=mode, size=size, max_pixels=max_pixels)
        except ImageReadError as exc:
            raise ImageReadError(exc.reason, path) from exc


def decode_bytes(
    data: bytes,
    *,
    mode: DecodeMode,
    size: tuple[int, int] | None = None,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """``decode_image`` for bytes, leaving the warnings filters alone (safe in worker threads).

    Callers wrap their thread pool in ``bomb_warnings_as_errors()``; without it, bombs above
    ``max_pixels`` are still refused, Pillow merely prints its warning first.
    """
    return finish_decode(open_image(data, max_pixels=max_pixels), mode=mode, size=size)


def open_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open an encoded image (reading only its header) and refuse decompression bombs.

    The first step of ``decode_bytes``, for callers that look at the header before choosing how
    to decode; ``finish_decode`` does the rest.
    """
    if not data:
        raise ImageReadError(EMPTY_FILE)
    try:
        image = Image.open(io.BytesIO(data))
    except Exception as exc:  # Pillow's plugins raise a zoo of types on bad data.
        raise ImageReadError(_reason(exc)) from exc
    _check_pixels(image.size, max_pixels)
    return image


def finish_decode(
    image: Image.Image, *, mode: DecodeMode, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Decode an image from ``open_image`` to an array (see ``decode_image`` for what it does)."""
    try:
        _draft(image, mode, size)
        # Frame 0 is the current frame after open, so animations give their first frame.
        image.load()
        if _may_have_exif(image):
            ImageOps.exif_transpose(image, in_place=True)
        image = _to_mode(image, mode)
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        return np.array(image)
    except ImageReadError:
        raise
    except Exception as exc:
        raise ImageReadError(_reason(exc)) from exc


def image_info(image: Image.Image) -> ImageInfo:
    """The ``ImageInfo`` of an opened image (width and height after EXIF orientation)."""
    width, height = image.size
    if _orientation(image) in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(width=width, height=height, mode=image.mode, format=image.format)


def _may_have_exif(image: Image.Image) -> bool:
    # Looking for EXIF costs as much as decoding a tiny image; these formats keep it only in
    # ``info`` (filled once loaded), so a missing key means there is nothing to look at.
    return image.format not in ("PNG", "GIF", "BMP") or "exif" in image.info


def read_header(data: bytes | str | Path, *, max_pixels: int = MAX_IMAGE_PIXELS) -> ImageInfo:
    """``probe_image`` leaving the warnings filters alone (safe in worker threads; see
    ``decode_bytes``). Errors carry no path."""
    if not isinstance(data, bytes):
        # Opening the path lets Pillow read only the header, not the whole file.
        data = Path(data)
        try:
            found = data.stat()
            if not stat.S_ISREG(found.st_mode):
                raise ImageReadError(not_regular_reason(found.st_mode))
            if found.st_size == 0:
                raise ImageReadError(EMPTY_FILE)
        except OSError as exc:
            raise ImageReadError(_reason(exc)) from exc
    elif not data:
        raise ImageReadError(EMPTY_FILE)
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
            _check_pixels(image.size, max_pixels)
            return image_info(image)
    except ImageReadError:
        raise
    except Exception as exc:
        raise ImageReadError(_reason(exc)) from exc


def _orientation(image: Image.Image) -> int:
    # A PNG keeps EXIF after the pixels unless it is already in ``info``; looking for it there would
    # decode the whole image, and oriented PNGs are rare, so a probe does not look.
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    value = image.getexif().get(_ORIENTATION_TAG, 1)
    return value if isinstance(value, int) else 1


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    pixels = size[0] * size[1]
    if pixels > max_pixels:
        raise ImageReadError(_bomb_reason(pixels, max_pixels))


def _bomb_reason(pixels: int | str, limit: int | str) -> str:
    return f"decompression bomb: {pixels} pixels exceeds the limit of {limit}"


def _draft(image: Image.Image, mode: DecodeMode, size: tuple[int, int] | None) -> None:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale when it is much larger than needed (and to
    gray directly): several times faster on photos, and the bilinear resize follows anyway."""
    if image.format != "JPEG" or size is None:
        return
    height, width = size
    if _orientation(image) in _SWAPPING_ORIENTATIONS:
        # The draft applies to the stored frame, before the EXIF rotation.
        height, width = width, height
    image.draft(mode, (width, height))


def _to_mode(image: Image.Image, mode: DecodeMode) -> Image.Image:
    if image.mode in _DEEP_MODES:
        gray = Image.fromarray(_deep_to_uint8(np.asarray(image), image.mode))
        return gray if mode == "L" else gray.convert("RGB")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image if image.mode == mode else image.convert(mode)


def _deep_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale 16-bit, 32-bit and float intensities to 0..255 by the range their type implies."""
    if mode.startswith("I;16"):
        return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    data = values.astype(np.float64)
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if low >= 0 and high <= 1.0 and mode == "F":
        scaled = data * 255
    elif low >= 0 and high <= 255:
        scaled = data
    elif low >= 0 and high <= 65535:
        scaled = data / 257
    else:  # An unusual range (negative, or beyond 16 bits): stretch what is there.
        scaled = (data - low) * (255 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


_BOMB_NUMBERS = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+)")


def _reason(exc: BaseException) -> str:
    """Words for the user saying why a file could not be used."""
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "cannot read file: permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not an image file"
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        found = _BOMB_NUMBERS.search(str(exc))
        return _bomb_reason(*found.groups()) if found else f"decompression bomb: {exc}"
    if isinstance(exc, UnidentifiedImageError):
        return NOT_AN_IMAGE
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, EOFError) or "truncated" in lowered or "premature end" in lowered:
        return TRUNCATED
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"cannot read file: {exc.strerror or text}"
    return f"corrupt image data ({text or type(exc).__name__})"
