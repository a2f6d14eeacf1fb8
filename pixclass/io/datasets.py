"""Built-in labeled datasets: MNIST and Fashion-MNIST (IDX files), and scikit-learn's digits.

They are the yardsticks: real images with known classes, to measure how well unsupervised
clustering recovers them. The machines are offline, so the IDX files are looked for in the usual
local places (see ``dataset_locations``) and downloaded only on request (``pixclass.io.download``).
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

import pixclass
from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.io.imageset import ImageSet

MNIST = "mnist"
FASHION_MNIST = "fashion-mnist"
DIGITS = "digits"
DATASETS = (MNIST, FASHION_MNIST, DIGITS)
_ALIASES = {"fashion_mnist": FASHION_MNIST, "fashionmnist": FASHION_MNIST}

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
SPLITS = ("train", "t10k")  # in this order, so MNIST's 60,000 training images come first
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def canonical_name(name: str) -> str | None:
    """``mnist``, ``fashion-mnist`` or ``digits`` for a dataset name in any case, else None."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in DATASETS else None


def is_dataset_name(name: str) -> bool:
    """True when ``name`` names a built-in dataset."""
    return canonical_name(name) is not None


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array in native byte order.

    Raises
    ------
    InputError
        The file cannot be read, is not IDX, or holds more or fewer bytes than its header says.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic: decide by content, not by the name
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read IDX file {path}: {exc}") from exc
    return parse_idx(raw, str(path))


def parse_idx(raw: bytes, where: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an IDX file; ``where`` names it in error messages."""

    def bad(why: str) -> InputError:
        return InputError(f"{where} is not a valid IDX file: {why}; download it again")

    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise bad("no IDX header (expected two zero bytes and a known type byte)")
    ndim = raw[3]
    start = 4 + 4 * ndim
    if ndim == 0 or len(raw) < start:
        raise bad(f"the header is cut short ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = math.prod(dims)
    if len(raw) - start != count * dtype.itemsize:
        raise bad(
            f"the header announces shape {dims} ({count * dtype.itemsize} bytes of data) "
            f"but {len(raw) - start} bytes follow"
        )
    values = np.frombuffer(raw, dtype=dtype, count=count, offset=start).reshape(dims)
    # A copy in native order: writable, and fast for everything downstream.
    return values.astype(dtype.newbyteorder("="))


def _find_idx_file(folder: Path, split: str, kind: str, ndim: int) -> Path | None:
    # The usual mirrors write "train-images-idx3-ubyte"; some copies use "train-images.idx3-ubyte".
    for sep in ("-", "."):
        for suffix in (".gz", ""):
            candidate = folder / f"{split}-{kind}{sep}idx{ndim}-ubyte{suffix}"
            if candidate.is_file():
                return candidate
    return None


def idx_pairs(folder: Path) -> list[tuple[str, Path, Path]]:
    """(split, images file, labels file) for each split whose two files are both in ``folder``."""
    pairs = []
    for split in SPLITS:
        images = _find_idx_file(folder, split, "images", 3)
        labels = _find_idx_file(folder, split, "labels", 1)
        if images is not None and labels is not None:
            pairs.append((split, images, labels))
    return pairs


def is_idx_dir(path: Path) -> bool:
    """True when ``path`` is a folder holding IDX files (``*-ubyte`` or ``*-ubyte.gz``)."""
    if not path.is_dir():
        return False
    return any(path.glob("*-ubyte")) or any(path.glob("*-ubyte.gz"))


def load_idx_dir(path: str | Path, name: str | None = None) -> ImageSet:
    """Load the IDX image/label pairs of a folder: ``train`` first, then ``t10k``.

    Parameters
    ----------
    path : str or Path
        A folder with ``train-images-idx3-ubyte(.gz)`` and ``train-labels-idx1-ubyte(.gz)``,
        and/or the ``t10k-`` pair. Every complete pair found is used.
    name : str, optional
        Prefix of the image names (``NAME:INDEX``); guessed from the folder name by default.
        A name containing "fashion" gives the Fashion-MNIST class names.

    Raises
    ------
    InputError
        No complete pair, a damaged file, or images and labels that do not match.
    """
    folder = Path(path)
    pairs = idx_pairs(folder)
    if not pairs:
        raise InputError(
            f"{folder} holds no complete IDX pair; expected train-images-idx3-ubyte(.gz) with "
            "train-labels-idx1-ubyte(.gz), and/or the same two t10k- files"
        )
    name = name or _guess_name(folder)
    image_parts, label_parts = [], []
    for _split, images_path, labels_path in pairs:
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise InputError(
                f"{images_path} holds {images.dtype} data of shape {images.shape}, "
                "not uint8 images of shape (n, h, w)"
            )
        if labels.shape != (len(images),):
            raise InputError(
                f"{labels_path} holds {labels.size} labels for {len(images)} images in "
                f"{images_path.name}; the two files must come from the same download"
            )
        image_parts.append(images)
        label_parts.append(labels.astype(np.int64))
    images = np.concatenate(image_parts) if len(image_parts) > 1 else image_parts[0]
    labels = np.concatenate(label_parts)
    return ImageSet(
        images=images,
        names=[f"{name}:{i}" for i in range(len(images))],
        labels=labels,
        class_names=_class_names(name, labels),
        source=str(folder),
    )


def _guess_name(folder: Path) -> str:
    lowered = folder.name.lower()
    if "fashion" in lowered:
        return FASHION_MNIST
    return MNIST if "mnist" in lowered else (folder.name or MNIST)


def _class_names(name: str, labels: np.ndarray) -> list[str]:
    if "fashion" in name.lower():
        return list(FASHION_CLASSES)
    top = int(labels.max()) if labels.size else 9
    return [str(i) for i in range(max(top, 9) + 1)]


def _repo_root() -> Path:
    # pixclass/__init__.py -> pixclass/ -> the checkout that holds it.
    return Path(pixclass.__file__).resolve().parents[1]


def dataset_locations(name: str, settings: Settings | None = None) -> list[Path]:
    """Where a dataset's IDX files are looked for, first match wins.

    ``settings.mnist_dir`` (MNIST only), ``<data_dir>/datasets/NAME``, ``shared/data/NAME`` next
    to or inside the current folder and the checkout, then ``/usr/share/datasets/NAME`` (where
    Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST).
    """
    settings = settings or Settings()
    canonical = canonical_name(name) or name
    candidates: list[Path] = []
    if canonical == MNIST and settings.mnist_dir:
        candidates.append(Path(settings.mnist_dir).expanduser())
    candidates.append(settings.data_dir / "datasets" / canonical)
    for base in (Path.cwd(), _repo_root()):
        candidates += [
            base.parent / "shared" / "data" / canonical,
            base / "shared/data" / canonical,
        ]
    candidates.append(Path("/usr/share/datasets") / canonical)
    unique: dict[Path, None] = {}
    for candidate in candidates:
        unique.setdefault(candidate.resolve(), None)
    return list(unique)


def find_dataset_dir(name: str, settings: Settings | None = None) -> Path | None:
    """The first of ``dataset_locations`` holding at least one IDX pair, or None."""
    for candidate in dataset_locations(name, settings):
        if candidate.is_dir() and idx_pairs(candidate):
            return candidate
    return None


def find_mnist(settings: Settings | None = None) -> Path | None:
    """The folder holding the MNIST IDX files, or None (see ``dataset_locations``)."""
    return find_dataset_dir(MNIST, settings)


def missing_dataset_message(name: str, settings: Settings | None = None) -> str:
    """What to do when a dataset's files are nowhere to be found."""
    looked = ", ".join(str(p) for p in dataset_locations(name, settings))
    fixes = f"run: pixclass datasets download {name}"
    if name == FASHION_MNIST:
        fixes = f"install it with: apt-get install -y dataset-fashion-mnist, or {fixes}"
    elif name == MNIST:
        fixes += ", or set PIXCLASS_MNIST_DIR to the folder with its four IDX files"
    return f"{name} not found (looked in: {looked}); {fixes}"


def load_digits_set() -> ImageSet:
    """scikit-learn's 1,797 8x8 digits, intensities 0..16 scaled to 0..255."""
    from sklearn.datasets import load_digits  # scikit-learn is slow to import; only when asked

    bunch = load_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    return ImageSet(
        images=images,
        names=[f"{DIGITS}:{i}" for i in range(len(images))],
        labels=np.asarray(bunch.target, dtype=np.int64),
        class_names=[str(i) for i in range(10)],
        source=DIGITS,
    )


def load_dataset(name: str, settings: Settings | None = None) -> ImageSet:
    """Load ``mnist`` (70,000), ``fashion-mnist`` (70,000) or ``digits`` (1,797) with labels.

    Raises
    ------
    InputError
        An unknown name, or IDX files that are not installed (the message says how to get them).
    """
    canonical = canonical_name(name)
    if canonical is None:
        raise InputError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    if canonical == DIGITS:
        return load_digits_set()
    folder = find_dataset_dir(canonical, settings)
    if folder is None:
        raise InputError(missing_dataset_message(canonical, settings))
    imageset = load_idx_dir(folder, canonical)
    imageset.source = canonical
    return imageset
