"""Find and decode images, load the built-in datasets (IDX, folders, zip), and hash content.

Only this package reads image files; everything after it works on the arrays of an ``ImageSet``.
"""

from __future__ import annotations

from pixclass.io.datasets import find_mnist, load_dataset, load_digits_set, load_idx_dir, read_idx
from pixclass.io.decode import (
    IMAGE_EXTENSIONS,
    MAX_IMAGE_PIXELS,
    ImageInfo,
    ImageReadError,
    decode_image,
    probe_image,
)
from pixclass.io.download import download_dataset
from pixclass.io.hashing import sha256_bytes, sha256_file
from pixclass.io.imageset import ImageSet, SkippedImage
from pixclass.io.labeled import export_dataset, load_labeled_folder
from pixclass.io.load import load_images, load_source
from pixclass.io.sources import ImageEntry, find_images

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "ImageEntry",
    "ImageInfo",
    "ImageReadError",
    "ImageSet",
    "SkippedImage",
    "decode_image",
    "download_dataset",
    "export_dataset",
    "find_images",
    "find_mnist",
    "load_dataset",
    "load_digits_set",
    "load_idx_dir",
    "load_images",
    "load_labeled_folder",
    "load_source",
    "probe_image",
    "read_idx",
    "sha256_bytes",
    "sha256_file",
]
