"""Kill ``pixclass ingest`` with SIGKILL at random points, rerun it, and count the damage.

Ten repetitions per database (SQLite, then PostgreSQL when reachable), each on a fresh database:
start ``python -m pixclass ingest`` on a folder of MNIST PNGs, wait until a random number of
images is committed plus a random fraction of a batch, SIGKILL it, run it again to completion,
then compare the database with the files. Prints, per repetition and in total:

- lost: files not stored under their name with their bytes;
- duplicated: the same bytes stored twice in the collection, or a name recorded twice;
- corrupt: stored bytes that differ from the file (or do not hash to their SHA-256);
- orphans: stored contents without an image, or images without their bytes.

Targets: 0 / 0 / 0 / 0.

    .venv/bin/python benchmarks/kill_ingest.py [--files 5000] [--reps 10] [--no-postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from pixclass.config import Settings
from pixclass.io import load_dataset
from pixclass.io.labeled import export_dataset
from pixclass.store import Store, list_collections, list_images, open_store
from pixclass.store.checks import check_consistency
from pixclass.store.db import create_store_engine
from pixclass.store.images import iter_image_bytes
from pixclass.store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "PIXCLASS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BATCH = 500
COLLECTION = "killed"


@dataclass
class Damage:
    killed_at: int = 0
    lost: int = 0
    duplicated: int = 0
    corrupt: int = 0
    orphans: int = 0


def make_source(tmp: Path, n_files: int) -> dict[str, bytes]:
    """``n_files`` MNIST PNGs in ``tmp/src``, copied from /tmp/mnist_png when it is there."""
    target = tmp / "src"
    shared = Path("/tmp/mnist_png/images")
    if shared.is_dir() and len(os.listdir(shared)) >= n_files:
        target.mkdir()
        for name in sorted(os.listdir(shared))[:n_files]:
            shutil.copyfile(shared / name, target / name)
    else:
        export_dataset(load_dataset("mnist").subset(list(range(n_files))), tmp / "export")
        (tmp / "export" / "images").rename(target)
    return {name: (target / name).read_bytes() for name in os.listdir(target)}


def committed(store: Store) -> int:
    infos = [c for c in list_collections(store) if c.name == COLLECTION]
    return infos[0].n_images if infos else 0


def kill_and_rerun(settings: Settings, source: Path, rng: random.Random, n_files: int) -> int:
    env = {**os.environ, "PIXCLASS_DATA_DIR": str(settings.data_dir)}
    env["PIXCLASS_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "pixclass", "ingest", str(source), "-c", COLLECTION, "-q"]
    command += ["--batch-size", str(BATCH)]
    threshold = rng.randint(1, n_files - 3 * BATCH)
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open_store(settings) as watcher:
        while committed(watcher) < threshold:
            if process.poll() is not None:
                error = process.stderr.read() if process.stderr else b""
                raise RuntimeError(f"ingest ended before the kill: {error!r}")
            time.sleep(0.005)
        # Somewhere inside the next batch (~0.1-0.2 s): reading, checking, inserting, committing.
        time.sleep(rng.uniform(0, 0.15))
        process.send_signal(signal.SIGKILL)
        process.wait()
        at_kill = committed(watcher)
    subprocess.run(command, env=env, check=True, capture_output=True)
    return at_kill


def damage(settings: Settings, files: dict[str, bytes]) -> Damage:
    found = Damage()
    with open_store(settings) as store:
        images = list_images(store, COLLECTION)
        names = Counter(image.file_name for image in images)
        shas = Counter(image.sha256 for image in images)
        found.duplicated = sum(n - 1 for n in shas.values()) + sum(n - 1 for n in names.values())
        by_id = {image.id: image for image in images}
        stored: dict[str, bytes] = {}
        for chunk in iter_image_bytes(store, list(by_id)):
            for image_id, data in chunk:
                image = by_id[image_id]
                stored[image.file_name] = data
                if hashlib.sha256(data).hexdigest() != image.sha256:
                    found.corrupt += 1
        for name, data in files.items():
            if name not in stored:
                found.lost += 1
            elif stored[name] != data:
                found.corrupt += 1
        report = check_consistency(store, verify_hashes=False)
        found.orphans = len(report.unused_blobs) + len(report.images_without_bytes)
    return found


@contextmanager
def fresh_database(backend: str, tmp: Path, rep: int) -> Iterator[Settings]:
    data_dir = tmp / f"{backend}-{rep}"
    if backend == "sqlite":
        yield Settings(data_dir=data_dir)  # the default file, created on first use
        return
    name = f"pixclass_kill_{os.getpid()}_{rep}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    try:
        engine = create_store_engine(url)
        upgrade(engine)
        engine.dispose()
        yield Settings(data_dir=data_dir, database_url=url)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_reachable() -> bool:
    try:
        with sa.create_engine(POSTGRES_URL).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    backends = ["sqlite"] + ([] if args.no_postgres or not postgres_reachable() else ["postgresql"])
    with tempfile.TemporaryDirectory(prefix="pixclass-kill-") as tmp_name:
        tmp = Path(tmp_name)
        files = make_source(tmp, args.files)
        print(f"{len(files)} PNG files, batches of {BATCH}, {args.reps} kills per database")
        for backend in backends:
            total = Damage()
            early = 0
            for rep in range(1, args.reps + 1):
                with fresh_database(backend, tmp, rep) as settings:
                    at_kill = kill_and_rerun(settings, tmp / "src", rng, len(files))
                    found = damage(settings, files)
                early += at_kill < len(files)
                for key in ("lost", "duplicated", "corrupt", "orphans"):
                    setattr(total, key, getattr(total, key) + getattr(found, key))
                print(
                    f"{backend:<10} rep {rep:>2}: killed with {at_kill:>5} images committed -> "
                    f"lost {found.lost}, duplicated {found.duplicated}, corrupt {found.corrupt}, "
                    f"orphans {found.orphans}",
                    flush=True,
                )
            print(
                f"{backend:<10} TOTAL over {args.reps} kills ({early} before the last commit): "
                f"lost {total.lost}, duplicated {total.duplicated}, corrupt {total.corrupt}, "
                f"orphans {total.orphans}",
                flush=True,
            )


if __name__ == "__main__":
    main()
