"""``pixclass worker`` killed with SIGKILL at random (seeded) moments while it runs ingest jobs,
20 times: afterwards no job is left "running", nothing half-written stays, and the images of every
job are all there exactly once, byte-identical, once the killed jobs are run again.

(``pixclass ingest`` and ``pixclass cluster`` killed mid-way are tests/store/test_store_crash.py.)
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixclass.config import Settings
from pixclass.jobs.api import submit_job
from pixclass.services.ingest import ingest
from pixclass.store import list_images, open_store
from pixclass.store.checks import check_consistency
from pixclass.store.jobs import get_job

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("PIXCLASS_KILLS", "20"))
PER_JOB = 40
# Seconds after its job is seen running that a worker is killed.
KILL_AFTER = (0.0, 0.4)
# Longest wait for a worker to take its job (it is killed then anyway).
START_LIMIT = 30
DRAIN_LIMIT = 120

# Generous: a worker takes a few seconds to start on an idle machine, ten times that on a
# loaded one.
pytestmark = pytest.mark.timeout(KILLS * 40 + DRAIN_LIMIT + 60)


def write_images(folder: Path, start: int) -> dict[str, str]:
    """``PER_JOB`` distinct PNGs; their SHA-256 by name."""
    folder.mkdir(parents=True)
    hashes = {}
    for i in range(start, start + PER_JOB):
        pixels = np.random.default_rng(i).integers(0, 256, (24, 24), dtype=np.uint8)
        path = folder / f"img-{i:04d}.png"
        Image.fromarray(pixels).save(path)
        hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def worker(settings: Settings, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pixclass", "--data-dir", str(settings.data_dir), "worker"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_running(settings: Settings, job_id: int) -> bool:
    deadline = time.monotonic() + START_LIMIT
    with open_store(settings) as store:
        while time.monotonic() < deadline:
            if get_job(store, job_id).state != "queued":
                return True
            time.sleep(0.05)
    return False


def test_a_worker_killed_at_random_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261203)
    data = tmp_path / "data"
    settings = Settings(data_dir=data, queue_url="sqlite")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PIXCLASS_QUEUE_URL": "sqlite"}
    expected: dict[str, str] = {}
    jobs = []
    killed_running = 0
    for kill in range(KILLS):
        folder = data / "uploads" / f"batch-{kill:02d}"
        expected |= write_images(folder, kill * PER_JOB)
        jobs.append(submit_job(settings, "ingest", "killed", {"source": str(folder)}))
        process = worker(settings, env)
        killed_running += wait_until_running(settings, jobs[-1])
        time.sleep(rng.uniform(*KILL_AFTER))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    # A worker started afterwards marks the killed jobs failed and runs the ones still queued.
    process = worker(settings, env)
    try:
        deadline = time.monotonic() + DRAIN_LIMIT
        with open_store(settings) as store:
            while time.monotonic() < deadline:
                states = [get_job(store, job_id).state for job_id in jobs]
                if not {"queued", "running"} & set(states):
                    break
                time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(30)
    with open_store(settings) as store:
        states = [get_job(store, job_id).state for job_id in jobs]
        assert "running" not in states and "queued" not in states, states
        assert set(states) <= {"done", "failed"}
        # The failed ones are run again (as a person would resubmit them).
        for job_id, state in zip(jobs, states, strict=True):
            if state == "failed":
                ingest(store, get_job(store, job_id).params["source"], "killed")
        images = list_images(store, "killed")
        report = check_consistency(store)
    names = [image.file_name for image in images]
    assert len(names) == len(set(names)) == KILLS * PER_JOB  # each exactly once
    assert {image.file_name: image.sha256 for image in images} == expected  # byte-identical
    assert not (report.images_without_bytes or report.unused_blobs or report.wrong_hashes)
    assert killed_running > 0  # the kills did land while jobs ran
    counts = {state: states.count(state) for state in set(states)}
    print(f"\nkill -9 worker: {KILLS} kills, {killed_running} with its job started; {counts}")
