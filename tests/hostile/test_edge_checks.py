"""Requests no route could use are refused at the edge, the same way on SQLite and PostgreSQL:
ids beyond 64 bits, control characters in names, broken multipart bodies; and every answer carries
the security headers. None is a server error."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixclass.config import Settings
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "edge-token-3b9c"
HUGE = "99999999999999999999"


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    from pixclass.web import create_app

    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url, app_token=TOKEN,
        queue_url="immediate",
    )  # fmt: skip
    engine = create_store_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings), headers=headers, raise_server_exceptions=False) as c:
        yield c


def png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "path",
    [f"/api/images/{HUGE}/original", f"/api/collections/{HUGE}", f"/api/collections/-{HUGE}"],
)
def test_ids_beyond_64_bits_are_not_found(api: TestClient, path: str) -> None:
    answer = api.get(path)
    assert answer.status_code == 404
    assert "ids are at most" in answer.json()["detail"]


def test_control_characters_in_a_name_are_refused(api: TestClient) -> None:
    answer = api.post("/api/collections", json={"name": "a\u0000b"})
    assert answer.status_code == 400 and "control character" in answer.json()["detail"]
    assert api.post("/api/collections", json={"name": "fine"}).status_code == 201
    assert [c["name"] for c in api.get("/api/collections").json()] == ["fine"]


def test_broken_multipart_is_a_400_and_whole_files_are_kept(api: TestClient) -> None:
    cid = api.post("/api/collections", json={"name": "up"}).json()["id"]
    long_name = [("files", ("x" * 8000 + ".png", png(), "image/png"))]
    answer = api.post(f"/api/collections/{cid}/upload", files=long_name)
    assert answer.status_code == 400 and "could not be read" in answer.json()["detail"]
    part = (
        b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png() + b"\r\n--b\r\nX-Long: " + b"y" * 20000
    )
    headers = {"content-type": "multipart/form-data; boundary=b"}
    answer = api.post(f"/api/collections/{cid}/upload", content=part, headers=headers)
    assert answer.status_code == 400, answer.text
    assert "1 added" in answer.json()["detail"]
    assert api.get(f"/api/collections/{cid}").json()["n_images"] == 1


def test_security_headers_and_docs_behind_the_token(api: TestClient) -> None:
    answer = api.get("/api/collections")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert api.get("/openapi.json").status_code == 200
    assert api.get("/openapi.json", headers={"Authorization": "Bearer wrong"}).status_code == 401
