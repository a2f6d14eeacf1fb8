"""Fixtures for the io tests: real image folders, the shared MNIST copy, the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from io_samples import MNIST_DIR, write_bad_images, write_good_images


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A folder of good images (every format) and bad files; (folder, good, bad)."""
    folder = tmp_path / "mixed"
    good = write_good_images(folder)
    bad = write_bad_images(folder)
    return folder, good, bad


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the shared MNIST copy is not at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(scope="session")
def cli() -> Any:
    """The top-level click group, or a skip while a sibling command module is still missing."""
    try:
        from pixclass.cli import cli as group
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("pixclass.cli."):
            pytest.skip(f"the CLI cannot start yet: {exc}")
        raise
    return group
