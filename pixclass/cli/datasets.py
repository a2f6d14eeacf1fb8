"""``pixclass datasets``: list, download and export the built-in labeled datasets."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from pixclass.cli.common import err_console, get_settings, progress_bars, user_errors
from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.io.datasets import (
    DATASETS,
    DIGITS,
    FASHION_MNIST,
    MNIST,
    find_dataset_dir,
    is_idx_dir,
    load_dataset,
    load_idx_dir,
)
from pixclass.io.download import download_dataset
from pixclass.io.imageset import ImageSet
from pixclass.io.labeled import export_dataset


@click.group("datasets")
def datasets() -> None:
    """The built-in labeled datasets (mnist, fashion-mnist, digits): list, download, export."""


@datasets.command("list")
@click.pass_context
def list_datasets(ctx: click.Context) -> None:
    """Show which datasets are available, and where their files are."""
    settings = get_settings(ctx)
    for name in DATASETS:
        click.echo(f"{name:<14} {_where(name, settings)}")


def _where(name: str, settings: Settings) -> str:
    if name == DIGITS:
        return "bundled with scikit-learn (1,797 images, 8x8)"
    folder = find_dataset_dir(name, settings)
    if folder is not None:
        return str(folder)
    hint = f"pixclass datasets download {name}"
    if name == FASHION_MNIST:
        hint = f"apt-get install -y dataset-fashion-mnist, or {hint}"
    return f"not found (get it with: {hint})"


@datasets.command("download")
@click.argument("name", type=click.Choice([MNIST, FASHION_MNIST], case_sensitive=False))
@click.option(
    "--dest",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder to save into (default: <data dir>/datasets/NAME, where pixclass looks).",
)
@click.option("--base-url", default=None, help="Download from this mirror instead.")
@click.pass_context
def download(ctx: click.Context, name: str, dest: str | None, base_url: str | None) -> None:
    """Download the four IDX files of NAME, checking their checksums."""
    settings = get_settings(ctx)
    target = Path(dest) if dest else settings.data_dir / "datasets" / name.lower()
    with user_errors(), progress_bars() as progress:
        download_dataset(name, target, progress=progress, base_url=base_url)
    err_console.print(
        f"{name}: the four IDX files are in {target}", highlight=False, soft_wrap=True
    )


@datasets.command("export")
@click.argument("name")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N images.")
@click.option("--overwrite", is_flag=True, help="Replace the images of an earlier export in DEST.")
@click.pass_context
def export(ctx: click.Context, name: str, dest: str, limit: int | None, overwrite: bool) -> None:
    """Write NAME as PNG files in DEST/images/ with their labels in DEST/labels.csv.

    NAME is mnist, fashion-mnist, digits, or a folder of IDX files. The result loads back with
    its labels wherever pixclass takes a folder.
    """
    settings = get_settings(ctx)
    with user_errors():
        imageset = _load_named(name, settings)
        if limit is not None and limit < len(imageset):
            imageset = imageset.subset(np.arange(limit))
        with progress_bars() as progress:
            export_dataset(imageset, dest, overwrite=overwrite, progress=progress)
    classes = len(imageset.class_names) if imageset.class_names else 0
    err_console.print(
        f"exported {len(imageset):,} images ({classes} classes) of {name} to "
        f"{Path(dest) / 'images'}, labels in {Path(dest) / 'labels.csv'}",
        highlight=False,
        soft_wrap=True,
    )


def _load_named(name: str, settings: Settings) -> ImageSet:
    path = Path(name)
    if path.is_dir():
        if not is_idx_dir(path):
            raise InputError(f"{name} holds no IDX files (*-ubyte or *-ubyte.gz)")
        return load_idx_dir(path)
    return load_dataset(name, settings)
