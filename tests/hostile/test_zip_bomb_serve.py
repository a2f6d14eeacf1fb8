"""Zip bombs against a real ``pixclass serve`` (a subprocess on loopback), its memory measured.

One upload holds a good PNG, ``bomb.zip`` (about 1 MiB holding a good JPEG and a member of
1 GiB of zeros) and ``many.zip`` (members of 40 MiB of zeros each, adding up to more than the
archive cap, ``archive_max_mb`` = 160 here). The server answers 200 with the good files kept and
every refused member listed with its reason, and its peak memory (``VmHWM`` of
``/proc/PID/status``, reset after a warm-up upload) stays within 300 MB of its idle size.
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from corpus import write_zip_bomb
from killing import (
    START_LIMIT,
    free_port,
    pixclass,
    pixclass_env,
    prepared_settings,
    wait_for,
)
from PIL import Image

from pixclass.store import list_images, open_store

TOKEN = "bomb-serve-77e1"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
ARCHIVE_CAP_MB = 160
MANY_MEMBERS = 6
MEMBER_MB = 40
MAX_ABOVE_IDLE_MB = 300

pytestmark = pytest.mark.timeout(600)


def png(seed: int, size: int = 24) -> bytes:
    out = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(out, "JPEG")
    return out.getvalue()


def write_many(path: Path) -> None:
    """A zip of members of zeros, each under the file cap, together over the archive cap."""
    block = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for i in range(MANY_MEMBERS):
            with archive.open(f"zeros-{i}.png", "w") as member:
                for _ in range(MEMBER_MB):
                    member.write(block)


def memory_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def test_zip_bombs_upload_to_a_real_server(tmp_path: Path) -> None:
    settings = prepared_settings(tmp_path / "data", f"sqlite:///{tmp_path / 'bomb.db'}")
    bomb, many = tmp_path / "bomb.zip", tmp_path / "many.zip"
    write_zip_bomb(bomb, good=jpeg(1))
    write_many(many)
    assert bomb.stat().st_size < 2 * 1024 * 1024 and many.stat().st_size < 4 * 1024 * 1024
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = pixclass_env(
        settings, PIXCLASS_APP_TOKEN=TOKEN, PIXCLASS_ARCHIVE_MAX_MB=str(ARCHIVE_CAP_MB)
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            pixclass("serve", "--port", str(port), "--no-worker"), env=env, stdout=out, stderr=out
        )
    try:

        def answers() -> bool:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                return httpx.get(f"{url}/api/collections", headers=HEADERS).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answers, START_LIMIT, "the server to answer", step=0.1)
        made = httpx.post(f"{url}/api/collections", json={"name": "bomb"}, headers=HEADERS)
        upload = f"{url}/api/collections/{made.json()['id']}/upload"
        warm = httpx.post(upload, files=[("files", ("warm.png", png(0)))], headers=HEADERS)
        assert warm.status_code == 200, warm.text
        idle = memory_mb(server.pid, "VmRSS")
        Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS now
        files = [
            ("files", ("good.png", png(2), "image/png")),
            ("files", ("bomb.zip", bomb.read_bytes(), "application/zip")),
            ("files", ("many.zip", many.read_bytes(), "application/zip")),
        ]
        answer = httpx.post(upload, files=files, headers=HEADERS, timeout=START_LIMIT)
        peak = memory_mb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(60)
    print(f"\nzip bombs against serve: idle {idle:.0f} MB, peak {peak:.0f} MB, "
          f"{peak - idle:.0f} MB above idle; {answer.status_code} {answer.text[:400]}")  # fmt: skip
    assert answer.status_code == 200, answer.text
    report = answer.json()
    reasons = {item["name"]: item["reason"] for item in report["skipped"]}
    assert report["added"] == 2  # good.png and bomb.zip/a-good.jpg
    assert "limit" in reasons["bomb.zip/zeros.png"]
    assert {f"many.zip/zeros-{i}.png" for i in range(MANY_MEMBERS)} == set(reasons) - {
        "bomb.zip/zeros.png"
    }
    assert any("archive_max_mb" in reason for reason in reasons.values())
    with open_store(settings) as store:
        names = {image.file_name for image in list_images(store, "bomb")}
    assert names == {"warm.png", "good.png", "bomb.zip/a-good.jpg"}
    assert peak - idle <= MAX_ABOVE_IDLE_MB, f"peak {peak:.0f} MB, idle {idle:.0f} MB"
