"""Uploads: files, folders (relative names), zips; bad files listed with the ingest's reasons;
names that try to leave the data dir stay inside it; size limits."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from web_samples import TOKEN, make_settings, mnist_arrays, png_bytes

from pixclass.web import create_app
from pixclass.web.uploads import safe_relative_name


def new_collection(api: TestClient, name: str) -> int:
    response = api.post("/api/collections", json={"name": name})
    assert response.status_code == 201
    collection_id: int = response.json()["id"]
    return collection_id


def test_upload_lists_the_corrupt_file(api: TestClient) -> None:
    cid = new_collection(api, "fresh")
    digits = mnist_arrays(3)
    good = png_bytes(digits[0])
    files = [
        ("files", ("a/one.png", good, "image/png")),
        ("files", ("a/two.png", png_bytes(digits[1]), "image/png")),
        ("files", ("b/broken.png", good[: len(good) // 2], "image/png")),
        ("files", ("notes.txt", b"hello", "text/plain")),
        ("files", ("again.png", good, "image/png")),
    ]
    response = api.post(f"/api/collections/{cid}/upload", files=files)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["added"], report["present"]) == (4, 2, 1)
    reasons = {item["name"]: item["reason"] for item in report["skipped"]}
    assert "truncated" in reasons["b/broken.png"]
    assert "not an image" in reasons["notes.txt"]
    assert api.get(f"/api/collections/{cid}").json()["n_images"] == 2


def test_zip_upload(api: TestClient) -> None:
    cid = new_collection(api, "zipped")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, array in enumerate(mnist_arrays(5)):
            archive.writestr(f"digits/{i}.png", png_bytes(array))
        archive.writestr("digits/bad.png", b"")
    files = [("files", ("set.zip", buffer.getvalue(), "application/zip"))]
    report = api.post(f"/api/collections/{cid}/upload", files=files).json()
    assert report["added"] == 5
    assert [s["reason"] for s in report["skipped"]] == ["empty file (0 bytes)"]


def test_names_that_climb_out_stay_inside_the_data_dir(api: TestClient, data_dir: Path) -> None:
    cid = new_collection(api, "climb")
    data = png_bytes(mnist_arrays(1)[0])
    outside = data_dir.parent
    files = [
        ("files", ("../../x.png", data, "image/png")),
        ("files", ("/etc/y.png", png_bytes(mnist_arrays(2)[1]), "image/png")),
        ("files", ("..\\..\\z.png", png_bytes(mnist_arrays(3)[2]), "image/png")),
    ]
    report = api.post(f"/api/collections/{cid}/upload", files=files).json()
    assert report["added"] == 3 and report["skipped"] == []
    assert not (outside / "x.png").exists() and not (outside.parent / "x.png").exists()
    assert not Path("/etc/y.png").exists()
    images = api.get(f"/api/collections/{cid}/images").json()
    assert {image["file_name"] for image in images} == {"x.png", "etc/y.png", "z.png"}
    # The upload folder is removed once the images are in the database.
    assert list((data_dir / "uploads").iterdir()) == []


def test_safe_relative_name() -> None:
    assert safe_relative_name("../../x.png") == "x.png"
    assert safe_relative_name("photos/2024/../a.jpg") == "photos/2024/a.jpg"
    assert safe_relative_name("C:\\Users\\me\\b.png") == "C_/Users/me/b.png"
    assert safe_relative_name(".hidden.png") == "hidden.png"
    assert safe_relative_name("a\x00b.png") == "a_b.png"
    assert safe_relative_name("../..") is None


def test_size_limits(data_dir: Path) -> None:
    settings = make_settings(data_dir, upload_file_max_mb=1, upload_max_mb=2)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings), headers=headers) as api:
        big = b"\x89PNG" + bytes(1_200_000)
        small = png_bytes(mnist_arrays(1)[0])
        files = [
            ("files", ("big.png", big, "image/png")),
            ("files", ("ok.png", small, "image/png")),
        ]
        report = api.post("/api/collections/1/upload", files=files).json()
        assert report["skipped"] == [{"name": "big.png", "reason": "larger than 1 MiB"}]
        too_much = [("files", (f"{i}.png", big, "image/png")) for i in range(3)]
        response = api.post("/api/collections/1/upload", files=too_much)
        assert response.status_code == 413
        assert "upload_max_mb" in response.json()["detail"]
        assert list((data_dir / "uploads").iterdir()) == []


def test_upload_page_shows_the_report(browser: TestClient) -> None:
    page = browser.get("/collections/1/upload")
    assert page.status_code == 200 and "webkitdirectory" in page.text
    data = png_bytes(mnist_arrays(300)[299])
    response = browser.post(
        "/collections/1/upload",
        files=[
            ("files", ("folder/new.png", data, "image/png")),
            ("files", ("bad.gif", b"x", "image/gif")),
        ],
        headers={"X-CSRF-Token": browser.csrf, "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "1 new image" in response.text and "bad.gif" in response.text
    # Multipart forms must carry the CSRF header (the body is streamed, not read first).
    refused = browser.post("/collections/1/upload", files=[("files", ("x.png", data, "image/png"))])
    assert refused.status_code == 403
