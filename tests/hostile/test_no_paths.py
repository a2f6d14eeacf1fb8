"""A run that fails tells why without telling where the server keeps its files: the run's and
the job's stored error and the run-failed notification name files, never the folders above
them. File names relative to the source stay as they are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pytest_httpserver import HTTPServer

from pixclass.config import Settings
from pixclass.errors import hide_paths
from pixclass.jobs.api import submit_job
from pixclass.notify import ImagesClassified, RunFailed, format_event
from pixclass.services.ingest import ingest
from pixclass.services.targets import add_collection_target
from pixclass.store import get_run, open_store
from pixclass.store.jobs import get_job

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("cannot read /home/ana/photos/cat.png: truncated", "cannot read cat.png: truncated"),
        ("[Errno 2] No such file: '/srv/up/12/a.zip'", "[Errno 2] No such file: 'a.zip'"),
        ("ValueError (at /usr/lib/py/pixclass/x.py:12)", "ValueError (at x.py:12)"),
        ("C:\\Users\\ana\\cat.png is broken", "cat.png is broken"),
        ("sub/dir/cat.png: truncated", "sub/dir/cat.png: truncated"),  # relative: kept
        ("Open: http://pix.local/runs/4/review", "Open: http://pix.local/runs/4/review"),
    ],
)
def test_hide_paths_keeps_file_names_and_drops_folders(text: str, shown: str) -> None:
    assert hide_paths(text) == shown


def test_every_message_goes_out_without_folders(tmp_path: Path) -> None:
    failed = format_event(RunFailed("c", 3, f"cannot open {tmp_path}/inbox/cat.png"))
    classified = format_event(
        ImagesClassified("c", 1, {"a": 1}, skipped=[(f"{tmp_path}/inbox/x.png", "truncated")])
    )
    for message in (failed, classified):
        assert str(tmp_path) not in message.body + message.title
    assert "cat.png" in failed.body and "x.png: truncated" in classified.body


def test_a_failed_run_job_and_notification_name_no_folder(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    source, blobs = tmp_path / "source", tmp_path / "blobs"
    source.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(source / f"{i}.png")
    settings = Settings(
        data_dir=tmp_path / "data", blob_dir=str(blobs), queue_url="immediate",
        notify_allow_private=True,
    )  # fmt: skip
    with open_store(settings) as store:
        ingest(store, source, "c")
        add_collection_target(store, settings, "c", f"json://127.0.0.1:{httpserver.port}/hook")
    shutil.rmtree(blobs)  # the run cannot read its images: it fails, naming the folder

    job_id = submit_job(settings, "cluster", "c", {"features": "pixels", "n_clusters": 3})

    with open_store(settings) as store:
        job = get_job(store, job_id)
        run = get_run(store, int(job.result["run_id"]))
    assert job.state == "failed" and run.status == "failed"
    [request] = [r for r, _ in httpserver.log if r.path == "/hook"]
    payload = json.loads(request.get_data())
    assert payload["title"].endswith("failed")
    for text in (job.error or "", run.error or "", payload["message"]):
        assert "blob" in text  # still says what went wrong...
        assert str(tmp_path) not in text  # ...but not where
