"""Zips dropped into a watched inbox go through the upload's ingest, on SQLite and PostgreSQL:
good members stored (named ``NAME.zip/member``), bad ones each recorded as skipped with a reason,
a corrupt archive one skipped entry, a bomb refused by the member cap (declared size) and an
archive of many members by the whole-archive cap, and a second look adds nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from corpus import write_zip_bomb
from killing import prepared_settings
from PIL import Image

from pixclass.jobs.watch import InboxWatcher
from pixclass.store import list_images, open_store

pytestmark = pytest.mark.timeout(300)


def png(seed: int) -> bytes:
    out = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (20, 20), dtype=np.uint8)
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def fill_inbox(inbox: Path) -> None:
    inbox.mkdir()
    (inbox / "loose.png").write_bytes(png(0))
    with zipfile.ZipFile(inbox / "set.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(1, 6):
            archive.writestr(f"sub/good-{i}.png", png(i))
        archive.writestr("sub/not-an-image.png", b"plain text, named like an image")
        archive.writestr("readme.txt", b"not named like an image: not looked at")
        archive.writestr("../escape.png", png(6))  # zip slip: kept, named inside the archive
    (inbox / "corrupt.zip").write_bytes(b"PK\x03\x04 not really a zip" + bytes(300))
    write_zip_bomb(inbox / "bomb.zip", good=png(7), size=48 * 1024 * 1024)
    with zipfile.ZipFile(inbox / "many.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(5):
            archive.writestr(f"zeros-{i}.png", b"\0" * (6 * 1024 * 1024))
    with zipfile.ZipFile(inbox / "nothing.zip", "w") as archive:
        archive.writestr("notes.txt", b"no image here")


def inbox_rows(url: str) -> dict[str, tuple[str, str | None]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT path, status, reason FROM inbox_files"))
            found = [(path, (status, reason)) for path, status, reason in rows]
    finally:
        engine.dispose()
    assert len(found) == len(dict(found))  # every file and member recorded once
    return dict(found)


def test_zips_in_the_inbox(tmp_path: Path, database_url: str) -> None:
    # Small caps, so that the bombs are quick to make: a member may unpack to 32 MiB, an
    # archive to 16 MiB.
    settings = prepared_settings(tmp_path / "data", database_url, file_max_mb=32, archive_max_mb=16)
    inbox = tmp_path / "inbox"
    fill_inbox(inbox)
    with open_store(settings) as store:
        for _ in range(2):  # the second look finds nothing new
            watcher = InboxWatcher(
                settings, store, inbox, "zips", settle=0, max_wait=0, notify=False
            )
            watcher.run(once=True)
        names = sorted(image.file_name for image in list_images(store, "zips"))
    good = ["bomb.zip/a-good.jpg", "loose.png", "set.zip/escape.png"]
    good += [f"set.zip/sub/good-{i}.png" for i in range(1, 6)]
    assert names == sorted(good)
    rows = inbox_rows(settings.resolved_database_url)
    skipped = {path: reason or "" for path, (status, reason) in rows.items() if status == "skipped"}
    many = {f"many.zip/zeros-{i}.png" for i in range(5)}
    bad = {"set.zip/sub/not-an-image.png", "corrupt.zip", "bomb.zip/zeros.png", "nothing.zip"}
    assert set(skipped) == bad | many
    assert all(skipped.values())
    assert "cannot open as a zip file" in skipped["corrupt.zip"]
    assert "over the limit of 32 MiB" in skipped["bomb.zip/zeros.png"]  # by its declared size
    assert any("archive_max_mb" in skipped[name] for name in many)  # the whole-archive cap
    assert "holds no image" in skipped["nothing.zip"]
    unpacked = {path for path, (status, _) in rows.items() if status == "unpacked"}
    assert unpacked == {"set.zip", "bomb.zip", "many.zip"}
    waiting = {path for path, (status, _) in rows.items() if status == "waiting"}
    assert waiting == set(good)  # no model yet: stored, waiting to be classified
