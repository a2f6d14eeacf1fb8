"""Ingest MNIST 70k as PNG files into SQLite and into PostgreSQL; print the figures.

For each database: seconds to ingest, database size / total bytes of the files (thumbnails
included: for 28x28 PNGs the original is its own thumbnail), and the re-ingest (seconds and rows
added, which should be 0).

    .venv/bin/python benchmarks/ingest.py [--source /tmp/mnist_png] [--no-postgres]

The source is a labeled folder (``images/`` + ``labels.csv``) or a plain folder of images; when
it does not exist it is written first from the MNIST IDX files (``pixclass datasets export``).
PostgreSQL: a database ``pixclass_bench_<pid>`` is created on $PIXCLASS_BENCH_POSTGRES_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped at the end.
Targets on 2 cores: <= 60 s (SQLite), <= 120 s (PostgreSQL), size <= 1.5x, re-ingest <= 10 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from pixclass.config import Settings
from pixclass.io import export_dataset, load_dataset
from pixclass.services.ingest import ingest
from pixclass.store import open_store
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade
from pixclass.store.stats import row_counts, storage_size

POSTGRES_URL = os.environ.get(
    "PIXCLASS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def ensure_source(source: Path) -> Path:
    images = source / "images" if (source / "images").is_dir() else source
    if not images.is_dir() or not any(images.iterdir()):
        print(f"writing MNIST 70k as PNG files to {source} ...", flush=True)
        export_dataset(load_dataset("mnist"), source)
    return source


def files_total(source: Path) -> tuple[int, int]:
    images = source / "images" if (source / "images").is_dir() else source
    sizes = [entry.stat().st_size for entry in os.scandir(images) if entry.is_file()]
    return len(sizes), sum(sizes)


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"pixclass_bench_{os.getpid()}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def bench(label: str, settings: Settings, source: Path, total_bytes: int, jobs: int) -> None:
    if settings.database_url:
        engine = create_store_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
    with open_store(settings) as store:
        started = time.perf_counter()
        first = ingest(store, source, "mnist", n_jobs=jobs)
        seconds = time.perf_counter() - started
        size = storage_size(store)
        before = row_counts(store)
        started = time.perf_counter()
        again = ingest(store, source, "mnist", n_jobs=jobs)
        reseconds = time.perf_counter() - started
        added_rows = sum(row_counts(store).values()) - sum(before.values())
    print(
        f"{label:<11} ingest {first.added:>6} images {seconds:6.1f} s "
        f"({first.added / seconds:,.0f}/s) | size {size.total / 1e6:6.1f} MB = "
        f"{size.total / total_bytes:.2f}x the files | re-ingest {reseconds:5.1f} s, "
        f"{again.added} images and {added_rows} rows added, {again.present} present",
        flush=True,
    )
    biggest = sorted(size.by_table.items(), key=lambda kv: -kv[1])[:6]
    print("            " + ", ".join(f"{name} {b / 1e6:.1f} MB" for name, b in biggest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/mnist_png"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    source = ensure_source(args.source)
    n_files, total_bytes = files_total(source)
    print(f"source {source}: {n_files} files, {total_bytes / 1e6:.1f} MB, jobs={args.jobs}")
    with tempfile.TemporaryDirectory(prefix="pixclass-bench-") as tmp:
        bench("SQLite", Settings(data_dir=Path(tmp)), source, total_bytes, args.jobs)
    if not args.no_postgres:
        with (
            tempfile.TemporaryDirectory(prefix="pixclass-bench-") as tmp,
            postgres_database() as url,
        ):
            settings = Settings(data_dir=Path(tmp), database_url=url)
            bench("PostgreSQL", settings, source, total_bytes, args.jobs)


if __name__ == "__main__":
    main()
