"""``pixclass serve`` killed with SIGKILL at random moments while it ingests an upload (its own
work, in the server process) and its worker child runs an ingest job, on SQLite and PostgreSQL.

After each kill the server starts again cleanly, and at once: no job is left "running" (the
app recovers the jobs of dead processes when it opens the store), no upload folder of the dead
server is left, every image of an upload answered before the kill is there byte-identical, and
every stored byte hashes to its SHA-256 (no half-written row). At the end the uploads and jobs
that the kills cut off are sent again: every image is there exactly once.

``PIXCLASS_SERVE_KILLS`` repetitions per database (default 2; ``benchmarks/kill.py`` runs 20).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from killing import (
    START_LIMIT,
    KillFigures,
    database_kind,
    free_port,
    kill,
    pixclass,
    pixclass_env,
    prepared_settings,
    repetitions,
    scalar,
    seeded_rng,
    wait_for,
    write_images,
)

from pixclass.config import Settings
from pixclass.jobs.api import submit_job
from pixclass.services.ingest import ingest
from pixclass.store import list_images, open_store
from pixclass.store.checks import check_consistency
from pixclass.store.jobs import get_job
from pixclass.store.runs import pid_alive

KILLS = repetitions("PIXCLASS_SERVE_KILLS", 2)
PER_UPLOAD = 150
PER_JOB = 40
TOKEN = "kill-serve-5d1c"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.timeout(KILLS * 90 + 300)


class Server:
    """A real ``pixclass serve`` (with its worker child) on a free loopback port."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = pixclass_env(settings, PIXCLASS_APP_TOKEN=TOKEN, PIXCLASS_QUEUE_URL="sqlite")
        command = pixclass("serve", "--port", str(self.port))
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        wait_for(self._answers, START_LIMIT, f"the server to answer (log: {log})", step=0.1)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/collections", headers=HEADERS).status_code == 200
        except httpx.HTTPError:
            return False

    def worker_pid(self) -> int:
        for line in self.log.read_text().splitlines():
            if line.startswith("Started a job worker (pid "):
                return int(line.split("pid ")[1].rstrip(")."))
        raise AssertionError(f"no worker child in {self.log.read_text()[-2000:]}")

    def upload(self, collection_id: int, folder: Path) -> dict[str, Any] | None:
        """The upload's report, or None when the server went away before answering."""
        files = [("files", (p.name, p.read_bytes(), "image/png")) for p in sorted(folder.iterdir())]
        try:
            answer = httpx.post(
                f"{self.url}/api/collections/{collection_id}/upload",
                files=files,
                headers=HEADERS,
                timeout=START_LIMIT,
            )
        except httpx.HTTPError:
            return None
        assert answer.status_code == 200, answer.text[:2000]
        return dict(answer.json())


def timed_upload(server: Server, collection_id: int, folder: Path) -> float:
    started = time.monotonic()
    assert server.upload(collection_id, folder) is not None
    return time.monotonic() - started


def kill_serve(tmp_path: Path, database_url: str, kills: int) -> KillFigures:
    """Start, load and kill the server ``kills`` times; the figures of what that left."""
    rng, seed = seeded_rng()
    figures = KillFigures("serve", database_kind(database_url), seed)
    settings = prepared_settings(tmp_path / "data", database_url, queue_url="sqlite")
    sources = tmp_path / "sources"
    answered: dict[str, str] = {}  # images of the uploads answered, by name
    expected: dict[str, str] = {}
    cut_off: list[Path] = []
    jobs: list[int] = []
    server = Server(settings, tmp_path / "serve-0.log")
    try:
        cid = httpx.post(f"{server.url}/api/collections", json={"name": "up"}, headers=HEADERS)
        collection_id = int(cid.json()["id"])
        # How long an upload takes here (the first one also loads what the server loads
        # lazily): the kills land anywhere in 1.5 times that.
        for n, warm in enumerate((sources / "warm-0", sources / "warm-1")):
            answered |= write_images(warm, 100_000 + n * PER_UPLOAD, PER_UPLOAD)
            span = max(0.3, 1.5 * timed_upload(server, collection_id, warm))
        for rep in range(kills):
            folder = sources / f"upload-{rep:02d}"
            sent = write_images(folder, rep * PER_UPLOAD, PER_UPLOAD)
            job_folder = settings.data_dir / "job-files" / f"job-{rep:02d}"
            expected |= write_images(job_folder, 50_000 + rep * PER_JOB, PER_JOB)
            jobs.append(submit_job(settings, "ingest", "jobs", {"source": str(job_folder)}))
            outcome: list[dict[str, Any] | None] = []
            sending = threading.Thread(
                target=lambda s=server, f=folder, o=outcome: o.append(s.upload(collection_id, f))
            )
            sending.start()
            time.sleep(rng.uniform(0, span))
            worker = server.worker_pid()
            uploading = sending.is_alive()
            figures.killed_mid_way += kill(server.process) and uploading
            sending.join()
            figures.repetitions += 1
            if outcome[0] is None:
                cut_off.append(folder)
            else:
                answered |= sent
            # The worker child stops by itself once its server is gone.
            wait_for(lambda w=worker: not pid_alive(w), START_LIMIT, "the orphaned worker to stop")
            server = Server(settings, tmp_path / f"serve-{rep + 1}.log")
            _after_restart(settings, server, answered, figures)
        for folder in cut_off:  # sent again, as a person would
            answered |= {p.name: _sha(p) for p in folder.iterdir()}
            assert server.upload(collection_id, folder) is not None
    finally:
        server.process.terminate()
        server.process.wait(60)
    _check_everything(settings, jobs, answered, expected, figures)
    return figures


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _after_restart(
    settings: Settings, server: Server, answered: dict[str, str], figures: KillFigures
) -> None:
    """Right after a restart: nothing running of the dead processes, nothing left, nothing lost."""
    mine = server.worker_pid()
    others = f"SELECT count(*) FROM jobs WHERE state = 'running' AND pid <> {mine}"
    running = scalar(settings, others)
    running += scalar(settings, "SELECT count(*) FROM runs WHERE status = 'running'")
    figures.stuck += running
    figures.left += len(list((settings.data_dir / "uploads").glob("upload-*")))
    with open_store(settings, recover=False) as store:
        stored = {image.file_name: image.sha256 for image in list_images(store, "up")}
        report = check_consistency(store)
    figures.lost += sum(stored.get(name) != sha for name, sha in answered.items())
    figures.corrupt += len(report.images_without_bytes) + len(report.wrong_hashes)
    figures.corrupt += len(report.unused_blobs)


def _check_everything(
    settings: Settings,
    jobs: list[int],
    answered: dict[str, str],
    expected: dict[str, str],
    figures: KillFigures,
) -> None:
    """Every upload and job done (the failed jobs run again): every image exactly once."""
    with open_store(settings) as store:
        for job_id in jobs:
            job = get_job(store, job_id)
            figures.stuck += job.state == "running"
            if job.state != "done":
                ingest(store, job.params["source"], "jobs")
        for collection, wanted in (("up", answered), ("jobs", expected)):
            images = list_images(store, collection)
            names = [image.file_name for image in images]
            figures.corrupt += len(names) - len(set(names))  # none twice
            stored = {image.file_name: image.sha256 for image in images}
            figures.lost += sum(stored.get(name) != sha for name, sha in wanted.items())
        report = check_consistency(store)
    figures.corrupt += len(report.images_without_bytes) + len(report.wrong_hashes)


def test_a_server_killed_at_random_loses_nothing(tmp_path: Path, database_url: str) -> None:
    figures = kill_serve(tmp_path, database_url, KILLS)
    print("\n" + figures.line())
    assert figures.clean, figures.line()
    assert figures.repetitions == KILLS
    shutil.rmtree(tmp_path / "sources", ignore_errors=True)
