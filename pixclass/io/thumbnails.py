"""Check that stored images decode, and make their thumbnails."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from pixclass.io.decode import DecodeMode, ImageInfo, decode_bytes, read_header

# The longest side of a thumbnail: the web app shows grids of them at up to this size.
THUMBNAIL_MAX = 96
THUMBNAIL_FORMAT = "WEBP"
THUMBNAIL_QUALITY = 80
# Formats every browser shows. An image in one of them that already fits in a thumbnail is its
# own thumbnail: for 28x28 digits a separate copy would be most of the database's overhead.
BROWSER_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


@dataclass(frozen=True)
class CheckedImage:
    """What ingest keeps about an image besides its bytes."""

    info: ImageInfo
    thumbnail: bytes | None
    thumbnail_format: str | None


def is_own_thumbnail(info: ImageInfo) -> bool:
    """True when the original serves as the thumbnail (small, and in a browser format)."""
    return (
        info.format in BROWSER_FORMATS
        and info.width <= THUMBNAIL_MAX
        and info.height <= THUMBNAIL_MAX
    )


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """(height, width) of the thumbnail of a ``width`` x ``height`` image (aspect kept)."""
    scale = min(1.0, THUMBNAIL_MAX / max(width, height, 1))
    return max(1, round(height * scale)), max(1, round(width * scale))


def check_image(data: bytes) -> CheckedImage:
    """Read the header, decode the pixels (to catch truncated files), and make the thumbnail.

    Safe in worker threads; wrap the pool in ``bomb_warnings_as_errors()`` as ``io`` explains.

    Raises
    ------
    ImageReadError
        With the reason the image cannot be used.
    """
    info = read_header(data)
    mode: DecodeMode = "L" if info.is_gray else "RGB"
    if is_own_thumbnail(info):
        decode_bytes(data, mode=mode)
        return CheckedImage(info, None, None)
    pixels = decode_bytes(data, mode=mode, size=thumbnail_size(info.width, info.height))
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, THUMBNAIL_FORMAT, quality=THUMBNAIL_QUALITY)
    return CheckedImage(info, out.getvalue(), THUMBNAIL_FORMAT)


def mime_type(image_format: str | None) -> str:
    """The MIME type of an image format name as Pillow spells it."""
    if image_format in BROWSER_FORMATS:
        return BROWSER_FORMATS[image_format]
    return f"image/{(image_format or 'octet-stream').lower()}"
