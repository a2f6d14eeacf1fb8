"""Peak memory of the web app while it takes a zip bomb: a ~1 MiB upload holding one member
that unpacks to 1 GiB of zeros, plus one good image.

Prints the process's resident memory when idle (after one small upload, so imports and caches
are in) and its peak (VmHWM) after the bomb, and what the upload reported. Run:

    OMP_NUM_THREADS=2 nice -n 10 timeout 600 python benchmarks/hostile.py
"""

from __future__ import annotations

import io
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hostile"))
from corpus import write_zip_bomb  # noqa: E402

from pixclass.config import Settings  # noqa: E402
from pixclass.store.db import create_store_engine  # noqa: E402
from pixclass.store.migrate import upgrade  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    from pixclass.web import create_app

    folder = Path(tempfile.mkdtemp(prefix="pixclass-bomb-"))
    settings = Settings(data_dir=folder / "data", app_token="t", queue_url="immediate")
    settings.ensure_dirs()
    engine = create_store_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    out = io.BytesIO()
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16)).save(out, "PNG")
    bomb = folder / "bomb.zip"
    write_zip_bomb(bomb, good=out.getvalue())
    with TestClient(create_app(settings), headers={"Authorization": "Bearer t"}) as client:
        cid = client.post("/api/collections", json={"name": "bomb"}).json()["id"]
        warm = [("files", ("warm.png", out.getvalue(), "image/png"))]
        client.post(f"/api/collections/{cid}/upload", files=warm)
        idle = status_mb("VmRSS")
        reset_peak()
        files = [("files", ("bomb.zip", bomb.read_bytes(), "application/zip"))]
        answer = client.post(f"/api/collections/{cid}/upload", files=files)
        peak = status_mb("VmHWM")
    print(f"zip bomb: {bomb.stat().st_size / 1024 / 1024:.2f} MiB upload, one member of 1024 MiB")
    print(f"status {answer.status_code}: {answer.text[:300]}")
    print(f"idle RSS {idle:.0f} MB, peak {peak:.0f} MB, peak above idle {peak - idle:.0f} MB")


if __name__ == "__main__":
    main()
