"""Download the MNIST and Fashion-MNIST IDX files from their usual mirrors, verified by checksum.

A file is written under a temporary name and renamed into place only when its checksum matches,
so a half-finished or corrupted download never looks like a dataset.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from pixclass.errors import InputError
from pixclass.io.datasets import FASHION_MNIST, MNIST, canonical_name
from pixclass.io.hashing import CHUNK_SIZE, file_digest
from pixclass.progress import ProgressCallback, report

MIRRORS = {
    MNIST: "https://ossci-datasets.s3.amazonaws.com/mnist/",
    FASHION_MNIST: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
# The MD5 sums both projects publish for their files.
CHECKSUMS: dict[str, dict[str, str]] = {
    MNIST: {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    FASHION_MNIST: {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}


def download_dataset(
    name: str,
    dest_dir: str | Path,
    *,
    progress: ProgressCallback | None = None,
    base_url: str | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download the four IDX files of ``mnist`` or ``fashion-mnist`` into ``dest_dir``.

    Files already there with the right checksum are kept, so an interrupted download resumes
    file by file.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    dest_dir : str or Path
        Created if needed; ``pixclass datasets download`` uses ``<data_dir>/datasets/NAME``,
        where ``load_dataset`` looks.
    progress : callable, optional
        Called as ``progress("download FILE", bytes_done, bytes_total)``.
    base_url : str, optional
        Another mirror (or a local server); the file names are appended to it.
    checksums : mapping of str to str, optional
        File name -> MD5 (32 hex digits) or SHA-256 (64 hex digits); defaults to the published MD5s.
    timeout : float, default=60.0
        Seconds to wait for the server before giving up.

    Returns
    -------
    Path
        ``dest_dir``.

    Raises
    ------
    InputError
        Unknown name, the machine is offline, the server refuses, or a checksum does not match.
    """
    canonical = canonical_name(name)
    if canonical not in MIRRORS:
        raise InputError(
            f"cannot download {name!r}; downloadable datasets: {', '.join(MIRRORS)} "
            "(digits is bundled with scikit-learn)"
        )
    base = (base_url or MIRRORS[canonical]).rstrip("/") + "/"
    sums = dict(checksums) if checksums is not None else CHECKSUMS[canonical]
    dest = Path(dest_dir)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    for filename in FILES:
        _download_file(base, filename, dest, sums[filename].lower(), progress, timeout, canonical)
    return dest


def _download_file(
    base: str,
    filename: str,
    dest: Path,
    expected: str,
    progress: ProgressCallback | None,
    timeout: float,
    dataset: str,
) -> None:
    """One file, unless it is already there with the right checksum."""
    target = dest / filename
    if target.is_file() and file_digest(target, _algorithm(expected)) == expected:
        return
    try:
        _fetch(base + filename, target, expected, report(progress), timeout)
    except (
        urllib.error.URLError,
        TimeoutError,
        ConnectionError,
        http.client.HTTPException,
    ) as exc:
        raise InputError(_offline_message(base + filename, exc, dest, dataset)) from exc
    except OSError as exc:  # the network is fine, the disk is not (full, read-only, ...)
        raise InputError(f"cannot save {target}: {exc.strerror or exc}") from exc


def _algorithm(checksum: str) -> str:
    if len(checksum) == 32:
        return "md5"
    if len(checksum) == 64:
        return "sha256"
    raise InputError(f"checksum {checksum!r} is neither MD5 (32 hex digits) nor SHA-256 (64)")


def _fetch(
    url: str, target: Path, expected: str, progress: ProgressCallback, timeout: float
) -> None:
    """Stream ``url`` to a temporary file beside ``target``, hashing as it goes; rename if good."""
    algorithm = _algorithm(expected)
    digest = hashlib.new(algorithm)
    partial = target.with_name(f".{target.name}.part-{os.getpid()}")
    stage = f"download {target.name}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            progress(stage, 0, total)
            while chunk := response.read(CHUNK_SIZE):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                progress(stage, done, total)
        actual = digest.hexdigest()
        if actual != expected:
            raise InputError(
                f"checksum mismatch for {url}: expected {algorithm} {expected}, got {actual}. "
                "The download is corrupt or the mirror changed; nothing was saved. Try again, or "
                f"put the file into {target.parent} by hand"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _offline_message(url: str, exc: BaseException, dest: Path, name: str) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        why = f"the server answered {exc.code} {exc.reason}"
    else:
        why = str(getattr(exc, "reason", exc)) or type(exc).__name__
    advice = f"copy the four files ({', '.join(FILES)}) into {dest} by hand"
    if name == FASHION_MNIST:
        advice = f"install them with: apt-get install -y dataset-fashion-mnist, or {advice}"
    return (
        f"cannot download {url} ({why}). This machine may be offline or the mirror may be down; "
        f"{advice}"
    )
