"""Load images from whatever the user gave into one ``ImageSet``: one colour mode, one size.

A run needs one array, so ``load_images`` decides the colour mode and working size once, from a
first pass over the files, then fills the array in a second (both in a thread pool; see
``pixclass.io.batch``). A bad file is skipped with its reason and never stops the run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from pixclass.config import Settings
from pixclass.errors import InputError, NoImagesError
from pixclass.io.batch import ChunkRunner, Scan, convert_array, decode_images, scan_images
from pixclass.io.decode import (
    IMAGE_EXTENSIONS,
    MAX_IMAGE_PIXELS,
    DecodeMode,
    ImageInfo,
    bomb_warnings_as_errors,
)
from pixclass.io.imageset import ImageSet, SkippedImage
from pixclass.io.sources import ImageEntry, ReadLimits, find_images
from pixclass.progress import ProgressCallback, report

ModeArg = Literal["auto", "L", "RGB"]
SizeArg = Literal["auto"] | int | tuple[int, int]

# "auto" keeps the images' own size when they all share one no larger than this on each side
# (digits, icons, thumbnails); otherwise every image is resized to DEFAULT_SIZE. Pixel features
# need one vector length, and pretrained extractors resize to their own input size anyway, so a
# larger working size would only cost memory (10,000 photos at 64x64 RGB are 120 MB).
AUTO_SIZE_LIMIT = 256
DEFAULT_SIZE = (64, 64)


def load_images(
    source: str | Path | Sequence[str | Path] | np.ndarray,
    *,
    mode: ModeArg = "auto",
    size: SizeArg = "auto",
    progress: ProgressCallback | None = None,
    n_jobs: int = 2,
    max_pixels: int = MAX_IMAGE_PIXELS,
    limits: ReadLimits | None = None,
) -> ImageSet:
    """Decode every image in a folder, zip, list of files, or array, to one mode and size.

    Parameters
    ----------
    source : str, Path, sequence of str or Path, or ndarray
        A folder (recursive), a ``.zip``, a list of files, or an array of shape (n, h, w) or
        (n, h, w, 3), uint8 (named ``array:INDEX``).
    mode : {"auto", "L", "RGB"}, default="auto"
        "auto" gives "L" when every readable image is grayscale (modes 1, L, LA, I, I;16, F; a
        palette image counts as colour), else "RGB".
    size : "auto", int or tuple of (int, int), default="auto"
        (height, width) to resize to; an int means a square. "auto" keeps the images' own size
        when they all share one of at most 256x256, else uses 64x64.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` for the stages "read" and "decode".
    n_jobs : int, default=2
        Decoding threads.
    max_pixels : int, default=MAX_IMAGE_PIXELS
        Larger images are skipped as decompression bombs.
    limits : ReadLimits, optional
        Largest file, and most unpacked from one zip (``ReadLimits.from_settings``).

    Returns
    -------
    ImageSet
        With ``skipped`` listing every file that could not be read and why.

    Raises
    ------
    InputError
        ``source`` does not exist, or an option is invalid.
    NoImagesError
        Not one image could be read.
    """
    mode, size = check_mode(mode), check_size(size)
    if isinstance(source, np.ndarray):
        return _from_array(source, mode, size)
    entries, skipped = find_images(source, limits)
    label = describe_source(source)
    if not entries and not skipped:
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise NoImagesError(f"no image files found in {label} (looked for {extensions})")
    with bomb_warnings_as_errors(), ThreadPoolExecutor(max(1, n_jobs)) as pool:
        run = ChunkRunner(pool, report(progress), n_jobs)
        scan = _scan(entries, skipped, label, run, mode, size, max_pixels)
        infos = scan.infos
        decode_mode = auto_mode(infos) if mode == "auto" else mode
        decode_size = auto_size((i.height, i.width) for i in infos) if size == "auto" else size
        images, failures = decode_images(scan, decode_mode, decode_size, run, max_pixels)
    return _decoded_set(scan.entries, images, failures, skipped, label)


def _decoded_set(
    entries: list[ImageEntry],
    images: np.ndarray,
    failures: list[str | None],
    skipped: list[SkippedImage],
    label: str,
) -> ImageSet:
    """The images that decoded; the rest join ``skipped`` with their reasons."""
    ok = [i for i, reason in enumerate(failures) if reason is None]
    skipped += [SkippedImage(entries[i].name, r) for i, r in enumerate(failures) if r is not None]
    if not ok:
        raise NoImagesError(no_images_message(label, skipped))
    return ImageSet(
        images=images if len(ok) == len(entries) else images[ok],
        names=[entries[i].name for i in ok],
        skipped=skipped,
        source=label,
    )


def _scan(
    entries: list[ImageEntry],
    skipped: list[SkippedImage],
    label: str,
    run: ChunkRunner,
    mode: ModeArg,
    size: tuple[int, int] | Literal["auto"],
    max_pixels: int,
) -> Scan:
    """The first pass, when the mode or size must be known before the one output array can
    exist; it adds the files it cannot read to ``skipped``."""
    if mode != "auto" and size != "auto":
        return Scan(entries=entries, infos=[])
    known = None if mode == "auto" else mode
    scan = scan_images(entries, run, mode=known, max_pixels=max_pixels)
    skipped += scan.skipped
    if not scan.entries:
        raise NoImagesError(no_images_message(label, skipped))
    return scan


def check_mode(mode: str) -> ModeArg:
    """Validate a ``mode`` option."""
    if mode not in ("auto", "L", "RGB"):
        raise InputError(f"unknown colour mode {mode!r}; use auto, L (grayscale) or RGB")
    return mode  # type: ignore[return-value]


def check_size(size: SizeArg | str | Sequence[int] | None) -> tuple[int, int] | Literal["auto"]:
    """Validate a ``size`` option: "auto", an int (a square), or (height, width)."""
    if size is None or size == "auto":
        return "auto"
    if isinstance(size, str):
        size = _parse_size_text(size)
    if isinstance(size, int):
        size = (size, size)
    if (
        isinstance(size, Sequence)
        and len(size) == 2
        and all(isinstance(v, int | np.integer) and 0 < v <= 4096 for v in size)
    ):
        return int(size[0]), int(size[1])
    raise InputError(f"invalid image size {size!r}; use auto, N, or HEIGHTxWIDTH (1 to 4096)")


def _parse_size_text(text: str) -> int | tuple[int, ...] | str:
    try:
        numbers = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        return text
    return numbers[0] if len(numbers) == 1 else numbers


def auto_mode(infos: Sequence[ImageInfo]) -> DecodeMode:
    """Grayscale ("L") when every image is grayscale, else "RGB"."""
    return "L" if all(info.is_gray for info in infos) else "RGB"


def auto_size(sizes: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The shared (height, width) when there is one of at most 256x256, else 64x64."""
    distinct = set(sizes)
    if len(distinct) == 1:
        height, width = next(iter(distinct))
        if height <= AUTO_SIZE_LIMIT and width <= AUTO_SIZE_LIMIT:
            return int(height), int(width)
    return DEFAULT_SIZE


def describe_source(source: object) -> str:
    """How a source is named in messages and in ``ImageSet.source``."""
    if isinstance(source, str | os.PathLike):
        return str(source)
    if isinstance(source, np.ndarray):
        return "array"
    return f"a list of {len(source)} files" if isinstance(source, Sequence) else str(source)


def no_images_message(label: str, skipped: Sequence[SkippedImage]) -> str:
    """Why nothing could be read, with the reasons counted and one example."""
    counts = Counter(item.reason for item in skipped)
    reasons = "; ".join(f"{reason} ({count})" for reason, count in counts.most_common(5))
    first = skipped[0]
    return (
        f"no readable images in {label}: {len(skipped)} file(s) skipped — {reasons}. "
        f"First: {first.path}: {first.reason}"
    )


def convert_images(images: np.ndarray, mode: DecodeMode, size: tuple[int, int]) -> np.ndarray:
    """An image batch in another colour mode and/or size (Pillow's conversions, bilinear)."""
    current = "RGB" if images.ndim == 4 else "L"
    if current == mode and images.shape[1:3] == tuple(size):
        return images
    channels = (3,) if mode == "RGB" else ()
    out = np.empty((len(images), *size, *channels), dtype=np.uint8)
    for i, array in enumerate(images):
        out[i] = convert_array(array, mode, size)
    return out


def reshape_set(imageset: ImageSet, mode: ModeArg, size: SizeArg) -> ImageSet:
    """``imageset`` in the requested mode and size ("auto" keeps the mode, and the size when it is
    at most 256x256)."""
    mode, checked = check_mode(mode), check_size(size)
    target_mode: DecodeMode = mode if mode != "auto" else imageset.color_mode  # type: ignore[assignment]
    shape = imageset.images.shape[1:3]
    target_size = checked if checked != "auto" else auto_size([(shape[0], shape[1])])
    images = convert_images(imageset.images, target_mode, target_size)
    return imageset if images is imageset.images else replace(imageset, images=images)


def _from_array(array: np.ndarray, mode: ModeArg, size: tuple[int, int] | str) -> ImageSet:
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.dtype != np.uint8 or not (
        array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 3)
    ):
        raise InputError(
            f"an image array must be uint8 of shape (n, h, w) or (n, h, w, 3); got {array.dtype} "
            f"of shape {array.shape}. Scale floats to 0..255 and cast with .astype(np.uint8)."
        )
    if len(array) == 0:
        raise NoImagesError("the image array is empty")
    names = [f"array:{i}" for i in range(len(array))]
    imageset = ImageSet(images=array, names=names, source="array")
    return reshape_set(imageset, mode, size)  # type: ignore[arg-type]


def load_source(
    source: str | Path | Sequence[str | Path] | np.ndarray,
    *,
    settings: Settings | None = None,
    mode: ModeArg = "auto",
    size: SizeArg = "auto",
    progress: ProgressCallback | None = None,
    n_jobs: int = 2,
) -> ImageSet:
    """Load any source a user can name: a dataset, an IDX folder, a labeled folder, or images.

    Parameters
    ----------
    source : str, Path, sequence of str or Path, or ndarray
        Tried in this order: an existing path wins over a dataset name.

        - a dataset name: ``mnist``, ``fashion-mnist``, ``digits`` (with labels);
        - a folder of IDX files (``train-images-idx3-ubyte.gz`` ...; with labels);
        - a labeled folder: ``images/`` plus ``labels.csv`` with columns ``file,label``;
        - a folder, ``.zip``, list of files, or array, as for ``load_images``.
    settings : Settings, optional
        Where to look for datasets; defaults to ``Settings()``.
    mode, size, progress, n_jobs
        As for ``load_images``.
    """
    from pixclass.io import datasets, labeled

    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists() and datasets.is_dataset_name(str(source)):
            loaded = datasets.load_dataset(str(source), settings)
            return reshape_set(loaded, mode, size)
        if path.is_dir() and datasets.is_idx_dir(path):
            return reshape_set(datasets.load_idx_dir(path), mode, size)
        if path.is_dir() and labeled.is_labeled_folder(path):
            return labeled.load_labeled_folder(
                path, mode=mode, size=size, progress=progress, n_jobs=n_jobs
            )
    limits = ReadLimits.from_settings(settings)
    return load_images(
        source, mode=mode, size=size, progress=progress, n_jobs=n_jobs, limits=limits
    )
