"""The hostile corpus through every way in: the loader behind ``cluster``, ``pixclass cluster``,
``pixclass ingest`` on SQLite and PostgreSQL, and the web upload. Every good file is kept, every
bad one is reported once with a reason, and nothing hangs (each command has a time limit: a FIFO
that blocked a read would run into it)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from corpus import Corpus

from pixclass.config import Settings
from pixclass.io import load_images
from pixclass.store import list_images, open_store

REPO = Path(__file__).resolve().parents[2]
# Seconds one command may take on the ~1,100 files; a read that blocks would hit it.
COMMAND_LIMIT = 240

pytestmark = pytest.mark.timeout(2 * COMMAND_LIMIT)


def pixclass_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pixclass", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_LIMIT,
        env=full_env,
        check=False,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_corpus_is_large_and_mixed(corpus: Corpus) -> None:
    assert len(corpus.good) + len(corpus.bad) >= 1000
    assert not corpus.good & corpus.bad


def test_loader_keeps_the_good_and_reports_the_bad(corpus: Corpus) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about the corrupt EXIF it tolerates
        images = load_images(corpus.root)
    assert sorted(images.names) == sorted(corpus.good)
    reported = [item.path for item in images.skipped]
    assert len(reported) == len(set(reported))
    assert set(reported) == corpus.bad
    assert all(item.reason for item in images.skipped)


def test_cluster_command(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "assignments.csv"
    done = pixclass_cli(
        "--data-dir", str(tmp_path / "data"), "cluster", str(corpus.root),
        "--features", "pixels", "--k", "3", "--method", "kmeans", "--no-refine",
        "--no-deskew", "--seed", "0", "-q", "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(row["path"] for row in read_csv(out)) == sorted(corpus.good)
    errors = [p for p in tmp_path.iterdir() if p.name != out.name and p.suffix == ".csv"]
    assert len(errors) == 1
    skipped = read_csv(errors[0])
    assert sorted(row["path"] for row in skipped) == sorted(corpus.bad)
    assert all(row["reason"] for row in skipped)


def test_ingest_command(corpus: Corpus, database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"PIXCLASS_DATABASE_URL": database_url}
    assert pixclass_cli("--data-dir", str(data_dir), "db", "upgrade", env=env).returncode == 0
    report = tmp_path / "skipped.csv"
    args = ["--data-dir", str(data_dir), "ingest", str(corpus.root), "-c", "hostile", "-q"]
    done = pixclass_cli(*args, "--report", str(report), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(corpus.good)} added" in done.stdout
    assert f"{len(corpus.bad)} skipped" in done.stdout
    skipped = read_csv(report)
    assert sorted(row["path"] for row in skipped) == sorted(corpus.bad)
    assert all(row["reason"] for row in skipped)
    assert "--report" not in done.stderr  # the full list is in the report, so not suggested
    settings = Settings(data_dir=data_dir, database_url=database_url)
    with open_store(settings) as store:
        stored = [image.file_name for image in list_images(store, "hostile")]
    assert sorted(stored) == sorted(corpus.good)
    again = pixclass_cli(*args, env=env)  # nothing is added twice
    assert f"0 added, {len(corpus.good)} already present" in again.stdout, again.stderr[-2000:]
