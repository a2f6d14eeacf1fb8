"""The hostile corpus through the two other ways in, on SQLite and PostgreSQL: the web upload (the
plain files a browser can send, in batches, archives included) and a watched inbox (``pixclass
watch --once``). Every good file is stored, every bad one reported once with a reason, nothing
twice; the inbox also reports FIFOs and links to devices named like images, without blocking.
A ``.zip`` in the inbox goes through the same ingest as in an upload: its members are stored or
reported one by one (``NAME.zip/member``), a corrupt archive is one skipped entry."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from corpus import Corpus

from pixclass.config import Settings
from pixclass.store import list_images, open_store
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
TOKEN = "hostile-upload-2f7a"
# Seconds the watcher may take on the whole corpus; a read that blocked would run into it.
WATCH_LIMIT = 240
BATCH = 150

pytestmark = pytest.mark.timeout(2 * WATCH_LIMIT)


def disk_part(corpus: Corpus, name: str) -> tuple[Path, bool]:
    """The file on disk a reported name comes from, and whether the name is inside it (a zip)."""
    parts = name.split("/")
    for i in range(1, len(parts) + 1):
        path = corpus.root.joinpath(*parts[:i])
        if path.is_symlink() or not path.is_dir():
            return path, i < len(parts)
    raise AssertionError(f"{name} names a folder")


def is_plain_file(path: Path) -> bool:
    info = os.lstat(path)
    return stat.S_ISREG(info.st_mode)


def stored_names(settings: Settings) -> list[str]:
    with open_store(settings) as store:
        return [image.file_name for image in list_images(store, "hostile")]


def stored_hashes(settings: Settings) -> list[str]:
    with open_store(settings) as store:
        return [image.sha256 for image in list_images(store, "hostile")]


def content_hash(corpus: Corpus, name: str) -> str:
    """The SHA-256 of a good file's bytes, a zip member's included."""
    path, inside = disk_part(corpus, name)
    if inside:
        member = name[len(path.relative_to(corpus.root).as_posix()) + 1 :]
        with zipfile.ZipFile(path) as archive:
            data = archive.read(member)
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    made = Settings(
        data_dir=tmp_path / "data", database_url=database_url, app_token=TOKEN,
        queue_url="immediate", upload_max_mb=64, upload_file_max_mb=16,
    )  # fmt: skip
    engine = create_store_engine(made.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    yield made


def test_web_upload(corpus: Corpus, settings: Settings) -> None:
    from pixclass.web import create_app

    files = corpus.regular_files
    expected_good = {n for n in corpus.good if is_plain_file(disk_part(corpus, n)[0])}
    expected_bad = {n for n in corpus.bad if is_plain_file(disk_part(corpus, n)[0])}
    # A file sent that is no image at all (notes.txt) is reported too: someone chose to send it.
    sent = {p.relative_to(corpus.root).as_posix() for p in files}
    expected_bad |= {n for n in sent if not n.lower().endswith(".zip")} - corpus.good
    assert len(expected_good) > 500 and len(expected_bad) > 300
    headers = {"Authorization": f"Bearer {TOKEN}"}
    skipped: list[dict[str, str]] = []
    added = 0
    with TestClient(create_app(settings), headers=headers) as api:
        cid = api.post("/api/collections", json={"name": "hostile"}).json()["id"]
        for start in range(0, len(files), BATCH):
            batch = files[start : start + BATCH]
            parts = [
                ("files", (p.relative_to(corpus.root).as_posix(), p.read_bytes())) for p in batch
            ]
            answer = api.post(f"/api/collections/{cid}/upload", files=parts)
            assert answer.status_code == 200, answer.text[:2000]
            report = answer.json()
            added += report["added"]
            skipped += report["skipped"]
        again = api.post(
            f"/api/collections/{cid}/upload",
            files=[("files", (p.relative_to(corpus.root).as_posix(), p.read_bytes()))
                   for p in files[:BATCH]],
        ).json()  # fmt: skip
    names = [s["name"] for s in skipped]
    assert len(names) == len(set(names))  # none reported twice
    assert set(names) == expected_bad
    assert all(s["reason"] for s in skipped)
    assert added == len(expected_good)
    # Compared by content: the upload shortens very long names and escapes a tab in one.
    hashes = stored_hashes(settings)
    assert len(hashes) == len(set(hashes)) == len(expected_good)
    assert set(hashes) == {content_hash(corpus, n) for n in expected_good}
    assert again["added"] == 0  # the same files again: nothing stored twice


def test_watched_inbox(corpus: Corpus, settings: Settings) -> None:
    expected_good, expected_bad = set(corpus.good), set(corpus.bad)
    env = {
        **os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "2",
        "PIXCLASS_DATABASE_URL": settings.database_url,
    }  # fmt: skip
    command = [
        sys.executable, "-m", "pixclass", "--data-dir", str(settings.data_dir), "watch",
        str(corpus.root), "-c", "hostile", "--once", "--settle", "0", "--max-wait", "0",
        "--no-notify",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=WATCH_LIMIT, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT path, status, reason FROM inbox_files"))
            records = [tuple(row) for row in rows]
    finally:
        engine.dispose()
    paths = [path for path, _, _ in records]
    assert len(paths) == len(set(paths))  # every file recorded once
    skipped = {path: reason for path, status, reason in records if status == "skipped"}
    assert set(skipped) == expected_bad
    assert all(skipped.values())
    stored = stored_names(settings)
    assert len(stored) == len(set(stored)) and set(stored) == expected_good
    again = subprocess.run(
        command, capture_output=True, text=True, timeout=WATCH_LIMIT, env=env, check=False
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(stored_names(settings)) == sorted(stored)  # a second pass adds nothing
