"""Decode many images in a thread pool, in two passes, never stopping for a bad file.

The first pass ("read") opens every file to learn its size and colour mode, which ``load_images``
needs before it can allocate one array for all. Small images are decoded right there, at their own
size, because for a 28x28 PNG opening the file costs as much as decoding it; the second pass
("decode") then only copies them, and decodes the rest. Pillow releases the GIL while decoding, so
threads use every core.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from pixclass.io.decode import (
    DecodeMode,
    ImageInfo,
    ImageReadError,
    decode_bytes,
    finish_decode,
    image_info,
    open_image,
)
from pixclass.io.imageset import SkippedImage
from pixclass.io.sources import ImageEntry
from pixclass.progress import ProgressCallback

# Images per task: large enough that thread hand-offs cost nothing next to decoding tiny images,
# small enough that progress moves and both cores stay busy to the end.
MAX_CHUNK = 256
# Images up to this many pixels are decoded during the first pass ...
SMALL_PIXELS = 256 * 256
# ... until their arrays take this much memory; the rest are decoded again in the second pass.
CACHE_BYTES = 512 * 2**20


class ChunkRunner:
    """Runs ``work(start, stop)`` over index chunks in a pool, reporting progress per chunk."""

    def __init__(self, pool: ThreadPoolExecutor, progress: ProgressCallback, n_jobs: int) -> None:
        self.pool = pool
        self.progress = progress
        self.n_jobs = max(1, n_jobs)

    def run(self, stage: str, total: int, work: Callable[[int, int], None]) -> None:
        # Aim for ~16 chunks per thread so that small sets still spread over the threads.
        chunk = max(1, min(MAX_CHUNK, total // (self.n_jobs * 16)))
        bounds = [(start, min(start + chunk, total)) for start in range(0, total, chunk)]
        futures = {self.pool.submit(work, a, b): b - a for a, b in bounds}
        done = 0
        self.progress(stage, 0, total)
        try:
            for future in as_completed(futures):
                future.result()
                done += futures[future]
                self.progress(stage, done, total)
        except BaseException:
            # Ctrl-C or a bug: do not wait for thousands of queued chunks to finish.
            for future in futures:
                future.cancel()
            raise


@dataclass
class Scan:
    """What the first pass found.

    Attributes
    ----------
    entries : list of ImageEntry
        The readable images, in order.
    infos : list of ImageInfo
        Their headers (for images decoded already, the decoded size).
    decoded : dict of int to ndarray
        Index into ``entries`` -> the image decoded at its own size.
    skipped : list of SkippedImage
    """

    entries: list[ImageEntry]
    infos: list[ImageInfo]
    decoded: dict[int, np.ndarray] = field(default_factory=dict)
    skipped: list[SkippedImage] = field(default_factory=list)


class _Budget:
    """Bytes that first-pass arrays may still take; shared by the threads."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self._lock = threading.Lock()

    def take(self, amount: int) -> bool:
        with self._lock:
            if amount > self.left:
                return False
            self.left -= amount
            return True


def scan_images(
    entries: list[ImageEntry],
    run: ChunkRunner,
    *,
    mode: DecodeMode | None,
    max_pixels: int,
    cache_bytes: int | None = None,
) -> Scan:
    """First pass: open every image; decode the small ones (to ``mode``, or their own mode).

    ``cache_bytes`` caps the memory of the early-decoded arrays (default ``CACHE_BYTES``).
    """
    results: list[tuple[ImageInfo, np.ndarray | None] | str] = [""] * len(entries)
    budget = _Budget(CACHE_BYTES if cache_bytes is None else cache_bytes)

    def work(start: int, stop: int) -> None:
        for i in range(start, stop):
            try:
                results[i] = _scan_one(entries[i], mode, max_pixels, budget)
            except ImageReadError as exc:
                results[i] = exc.reason

    run.run("read", len(entries), work)
    scan = Scan(entries=[], infos=[])
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, str):
            scan.skipped.append(SkippedImage(entry.name, result))
            continue
        info, array = result
        if array is not None:
            scan.decoded[len(scan.entries)] = array
        scan.entries.append(entry)
        scan.infos.append(info)
    return scan


def _scan_one(
    entry: ImageEntry, mode: DecodeMode | None, max_pixels: int, budget: _Budget
) -> tuple[ImageInfo, np.ndarray | None]:
    image = open_image(entry.read_bytes(), max_pixels=max_pixels)
    info = image_info(image)
    native: DecodeMode = mode or ("L" if info.is_gray else "RGB")
    pixels = info.width * info.height
    if pixels > SMALL_PIXELS or not budget.take(pixels * (1 if native == "L" else 3)):
        return info, None
    array = finish_decode(image, mode=native)
    # The decoded size is the truth (a PNG's EXIF orientation is only known once decoded).
    shown = ImageInfo(
        width=array.shape[1], height=array.shape[0], mode=info.mode, format=info.format
    )
    return shown, array


def decode_images(
    scan: Scan, mode: DecodeMode, size: tuple[int, int], run: ChunkRunner, max_pixels: int
) -> tuple[np.ndarray, list[str | None]]:
    """Second pass: every entry of ``scan`` as one array, and the reason for each failure."""
    entries = scan.entries
    channels = (3,) if mode == "RGB" else ()
    images = np.zeros((len(entries), *size, *channels), dtype=np.uint8)
    failures: list[str | None] = [None] * len(entries)

    def work(start: int, stop: int) -> None:
        for i in range(start, stop):
            early = scan.decoded.get(i)
            # A JPEG decoded to another size takes a faster, slightly different route (a draft
            # decode), so only its exact size is reused; for other formats the results are equal.
            if early is not None and (early.shape[:2] == size or scan.infos[i].format != "JPEG"):
                images[i] = convert_array(early, mode, size)
                continue
            try:
                data = entries[i].read_bytes()
                images[i] = decode_bytes(data, mode=mode, size=size, max_pixels=max_pixels)
            except ImageReadError as exc:
                failures[i] = exc.reason

    run.run("decode", len(entries), work)
    return images, failures


def convert_array(array: np.ndarray, mode: DecodeMode, size: tuple[int, int]) -> np.ndarray:
    """One uint8 image in another colour mode and/or size (Pillow's conversions, bilinear)."""
    current = "RGB" if array.ndim == 3 else "L"
    if current == mode and array.shape[:2] == tuple(size):
        return array
    if mode == "RGB" and current == "L" and array.shape[:2] == tuple(size):
        return np.repeat(array[..., None], 3, axis=-1)  # what Pillow's convert("RGB") does
    image = Image.fromarray(array)
    if image.mode != mode:
        image = image.convert(mode)
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(image)
