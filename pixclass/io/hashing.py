"""Content hashes (SHA-256), so the same image is stored once and downloads can be verified."""

from __future__ import annotations

import hashlib
from pathlib import Path

# 1 MiB reads keep memory flat for large files while keeping the number of system calls small.
CHUNK_SIZE = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of the file at ``path`` as 64 lowercase hex digits, read in chunks.

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    return file_digest(path, "sha256")


def file_digest(path: str | Path, algorithm: str) -> str:
    """The hex digest of the file at ``path`` with any ``hashlib`` algorithm (``"md5"``, ...)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()
