"""Runs as jobs (the queue runs them inline here), the progress fragment, collections, and the
notification page's targets, test message and recorded sends."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from web_samples import write_digits


def test_upload_then_run_as_a_job(api: TestClient, tmp_path: Path) -> None:
    cid = api.post("/api/collections", json={"name": "new digits"}).json()["id"]
    paths = write_digits(tmp_path / "more", 120, start=500)
    files = [("files", (f"more/{p.name}", p.read_bytes(), "image/png")) for p in paths]
    assert api.post(f"/api/collections/{cid}/upload", files=files).json()["added"] == 120
    job = api.post(f"/api/collections/{cid}/runs", json={"n_clusters": 4, "seed": 0})
    assert job.status_code == 202, job.text
    info = job.json()
    assert info["kind"] == "cluster" and info["state"] == "done", info
    run_id = info["result"]["run_id"]
    assert api.get(f"/api/jobs/{info['id']}").json()["state"] == "done"
    run = api.get(f"/api/runs/{run_id}").json()
    assert (run["status"], run["n_clusters"], run["n_images"]) == ("done", 4, 120)
    assert sum(c["size"] for c in api.get(f"/api/runs/{run_id}/classes").json()) == 120
    listed = api.get("/api/collections").json()
    latest = next(c for c in listed if c["id"] == cid)["latest_run"]
    assert latest["id"] == run_id
    assert [j["id"] for j in api.get("/api/jobs", params={"collection_id": cid}).json()] == [
        info["id"]
    ]


def test_run_form_and_progress_fragment(browser: TestClient) -> None:
    page = browser.get("/collections/1")
    assert page.status_code == 200 and "Start clustering" in page.text
    started = browser.post(
        "/collections/1/runs",
        data={"features": "pixels", "k": "3", "method": "kmeans"},
        headers={"X-CSRF-Token": browser.csrf, "HX-Request": "true"},
    )
    assert started.status_code == 200
    assert "Open the classes" in started.text  # immediate queue: done on return
    assert 'hx-trigger="every 1s"' not in started.text
    job_id = int(started.text.split('id="job-')[1].split('"')[0])
    progress = browser.get(f"/jobs/{job_id}/progress")
    assert progress.status_code == 200 and "Open the classes" in progress.text
    bad = browser.post(
        "/collections/1/runs",
        data={"features": "no-such-features", "k": "auto"},
        headers={"X-CSRF-Token": browser.csrf, "HX-Request": "true"},
    )
    assert bad.status_code == 400 and bad.headers["HX-Retarget"] == "#flash"
    # A k that is not a number is an error naming what is accepted, never a silent "auto".
    ten = browser.post(
        "/collections/1/runs",
        data={"features": "pixels", "k": "ten"},
        headers={"X-CSRF-Token": browser.csrf, "HX-Request": "true"},
    )
    assert ten.status_code == 400 and "'auto' or a whole number" in html.unescape(ten.text)


def test_delete_collection(api: TestClient, browser: TestClient) -> None:
    cid = api.post("/api/collections", json={"name": "doomed"}).json()["id"]
    confirm = browser.get(f"/collections/{cid}/delete")
    assert "Delete for good" in confirm.text
    deleted = browser.post(
        f"/collections/{cid}/delete", data={"csrf_token": browser.csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert api.get(f"/api/collections/{cid}").status_code == 404
    assert api.delete("/api/collections/1").json()["count"] == 200


def test_notification_targets_test_and_sends(api: TestClient, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    url = f"json://{httpserver.host}:{httpserver.port}/hook"
    added = api.post("/api/collections/1/notifications", json={"url": url, "tags": ["run-failed"]})
    assert added.status_code == 200, added.text
    assert added.json()[0]["tags"] == ["run-failed"]
    secret = api.post(
        "/api/collections/1/notifications", json={"url": "mailtos://ana:hunter2@example.com"}
    )
    assert secret.status_code == 400 and "placeholder" in secret.json()["detail"]
    sent = api.post("/api/collections/1/notifications/test").json()
    assert [s["ok"] for s in sent] == [True]
    assert len(httpserver.log) == 1
    recorded = api.get("/api/collections/1/notifications/sends").json()
    assert recorded[0]["event_type"] == "test" and recorded[0]["ok"] is True
    page = api.get("/collections/1/notifications")
    assert page.status_code == 200 and "hunter2" not in page.text
    assert api.delete("/api/collections/1/notifications/1").status_code == 200
    assert api.get("/api/collections/1/notifications").json() == []


def test_classify_refuses_a_zip(api: TestClient) -> None:
    files = [("files", ("x.zip", b"PK\x05\x06" + bytes(18), "application/zip"))]
    response = api.post("/api/collections/1/classify", files=files)
    assert response.status_code == 200
    assert "Upload page" in response.json()[0]["reason"]
