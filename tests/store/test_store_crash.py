"""Crash safety, for real: ``pixclass ingest`` and ``pixclass cluster`` killed with SIGKILL.

A killed ingest loses at most the batch it was writing, leaves no half-written rows and no
orphan bytes, and a rerun completes it with every image exactly once, byte-identical. A killed
run is marked failed "interrupted (process killed)" by the next process that opens the store.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from store_samples import write_mnist_pngs

from pixclass.config import Settings
from pixclass.services.ingest import ingest
from pixclass.store import INTERRUPTED, Store, list_images, list_runs, open_store
from pixclass.store.checks import check_consistency, collect_garbage
from pixclass.store.schema import Image, Run

pytestmark = [pytest.mark.usefixtures("mnist_available"), pytest.mark.slow]

N_FILES = 3000
BATCH = 200


@pytest.fixture(scope="session")
def many_pngs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("pngs") / "digits"
    written = write_mnist_pngs(folder, N_FILES)
    return {str(folder / name): data for name, data in written.items()}


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["PIXCLASS_DATA_DIR"] = str(settings.data_dir)
    env["PIXCLASS_DATABASE_URL"] = settings.database_url
    return env


def _pixclass(*args: str) -> list[str]:
    return [sys.executable, "-m", "pixclass", *args]


def _count(store: Store, table: type[Image] | type[Run], *where: sa.ColumnElement[bool]) -> int:
    with store.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


def _kill_when(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, "the process ended before it could be killed"
        assert time.monotonic() < deadline, "the process never got to the kill point"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def test_killed_ingest_loses_nothing(
    store: Store, settings: Settings, many_pngs: dict[str, bytes]
) -> None:
    folder = str(Path(next(iter(many_pngs))).parent)
    command = _pixclass("ingest", folder, "-c", "kill", "-q", "--batch-size", str(BATCH))
    threshold = random.Random().randint(1, N_FILES - 3 * BATCH)
    killed = subprocess.Popen(command, env=_env(settings), stderr=subprocess.DEVNULL)
    _kill_when(killed, lambda: _count(store, Image) >= threshold)

    # What the kill left: whole batches only, and every image with its bytes.
    at_kill = _count(store, Image)
    assert 0 < at_kill < N_FILES and at_kill % BATCH == 0
    assert check_consistency(store).ok

    rerun = subprocess.run(command, env=_env(settings), capture_output=True, text=True, check=True)
    added = N_FILES - at_kill
    assert f"{added} added, {at_kill} already present" in rerun.stdout

    images = list_images(store, "kill")
    assert sorted(image.file_name for image in images) == sorted(
        Path(path).name for path in many_pngs
    )
    by_name = {Path(path).name: data for path, data in many_pngs.items()}
    for image in images:
        assert image.sha256 == hashlib.sha256(by_name[image.file_name]).hexdigest()
    report = check_consistency(store)  # also re-hashes every stored byte
    assert report.ok and report.n_images == N_FILES


def test_killed_ingest_into_blob_directory(
    store: Store, settings: Settings, many_pngs: dict[str, bytes], tmp_path: Path
) -> None:
    blob_settings = Settings(
        data_dir=settings.data_dir, database_url=settings.database_url, blob_dir=str(tmp_path / "b")
    )
    env = {**_env(settings), "PIXCLASS_BLOB_DIR": str(tmp_path / "b")}
    folder = str(Path(next(iter(many_pngs))).parent)
    command = _pixclass("ingest", folder, "-c", "kill", "-q", "--batch-size", str(BATCH))
    killed = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    _kill_when(killed, lambda: _count(store, Image) >= BATCH * 3)
    subprocess.run(command, env=env, capture_output=True, check=True)
    with open_store(blob_settings) as files_store:
        report = check_consistency(files_store)
        assert report.ok and report.n_images == N_FILES
        # The killed writer may have left its temporary file; garbage collection removes it.
        collect_garbage(files_store)
        assert check_consistency(files_store).ok
    assert list((tmp_path / "b").glob("??/??/.*.tmp")) == []


def test_killed_run_is_marked_failed(store: Store, settings: Settings, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 500)
    ingest(store, tmp_path / "digits", "digits")
    command = _pixclass("cluster", "--collection", "digits", "--quiet")
    running = subprocess.Popen(command, env=_env(settings), stderr=subprocess.DEVNULL)
    _kill_when(running, lambda: _count(store, Run, Run.status == "running") > 0)
    assert [run.status for run in list_runs(store)] == ["running"]  # nobody has looked yet

    with open_store(settings) as reopened:  # any open looks
        [run] = list_runs(reopened)
    assert (run.status, run.error) == ("failed", INTERRUPTED)
    assert run.finished_at is not None
