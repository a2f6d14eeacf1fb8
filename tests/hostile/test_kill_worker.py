"""``pixclass worker`` killed with SIGKILL at random moments while it runs ingest jobs: afterwards
no job is left "running", nothing half-written stays, and the images of every job are all there
exactly once, byte-identical, once the killed jobs are run again.

``PIXCLASS_KILLS`` repetitions (default 6, each a worker start of a few seconds; the moments are
random, their seed printed; ``benchmarks/kill.py`` runs 20 on SQLite and PostgreSQL).

(``pixclass ingest`` and ``pixclass cluster`` killed mid-way are tests/store/test_store_crash.py.)
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from killing import (
    START_LIMIT,
    KillFigures,
    database_kind,
    kill,
    pixclass,
    pixclass_env,
    prepared_settings,
    repetitions,
    seeded_rng,
    wait_for,
    write_images,
)

from pixclass.jobs.api import submit_job
from pixclass.services.ingest import ingest
from pixclass.store import Store, list_images, open_store
from pixclass.store.checks import check_consistency
from pixclass.store.jobs import get_job

KILLS = repetitions("PIXCLASS_KILLS", 6)
PER_JOB = 40
# Seconds after its job is seen running that a worker is killed.
KILL_AFTER = (0.0, 0.4)
DRAIN_LIMIT = 120

# Generous: a worker takes a few seconds to start on an idle machine, ten times that on a
# loaded one.
pytestmark = pytest.mark.timeout(KILLS * 40 + DRAIN_LIMIT + 60)


def worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = pixclass("worker")
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def running_yet(store: Store, job_id: int) -> bool:
    """True once the job left "queued"; False when the worker did not take it in time."""
    try:
        wait_for(lambda: get_job(store, job_id).state != "queued", START_LIMIT, "the job")
    except AssertionError:
        return False
    return True


def kill_worker(tmp_path: Path, database_url: str, kills: int) -> KillFigures:
    """Kill a worker ``kills`` times while it runs an ingest job; the figures of what is left."""
    rng, seed = seeded_rng()
    figures = KillFigures("worker", database_kind(database_url), seed)
    settings = prepared_settings(tmp_path / "data", database_url, queue_url="sqlite")
    env = pixclass_env(settings, PIXCLASS_QUEUE_URL="sqlite")
    expected: dict[str, str] = {}
    jobs: list[int] = []
    with open_store(settings, recover=False) as store:
        for kill_number in range(kills):
            folder = settings.data_dir / "uploads" / f"batch-{kill_number:02d}"
            expected |= write_images(folder, kill_number * PER_JOB, PER_JOB, size=24)
            jobs.append(submit_job(settings, "ingest", "killed", {"source": str(folder)}))
            process = worker(env)
            figures.killed_mid_way += running_yet(store, jobs[-1])
            time.sleep(rng.uniform(*KILL_AFTER))
            kill(process)
            figures.repetitions += 1

        # A worker started afterwards marks the killed jobs failed and runs the queued ones.
        process = worker(env)
        try:
            wait_for(
                lambda: not {"queued", "running"} & {get_job(store, j).state for j in jobs},
                DRAIN_LIMIT, "the queue to drain", step=0.5,
            )  # fmt: skip
        finally:
            process.terminate()
            process.wait(30)
    with open_store(settings) as store:
        states = [get_job(store, job_id).state for job_id in jobs]
        figures.stuck += sum(state not in ("done", "failed") for state in states)
        # The failed ones are run again (as a person would resubmit them).
        for job_id, state in zip(jobs, states, strict=True):
            if state == "failed":
                ingest(store, get_job(store, job_id).params["source"], "killed")
        images = list_images(store, "killed")
        report = check_consistency(store)
    names = [image.file_name for image in images]
    figures.corrupt += len(names) - len(set(names))  # each exactly once
    stored = {image.file_name: image.sha256 for image in images}
    figures.lost += sum(stored.get(name) != sha for name, sha in expected.items())
    figures.corrupt += len(report.images_without_bytes) + len(report.wrong_hashes)
    figures.corrupt += len(report.unused_blobs)
    counts = {state: states.count(state) for state in set(states)}
    figures.notes.append(f"job states after the restart: {counts}")
    return figures


def test_a_worker_killed_at_random_loses_nothing(tmp_path: Path) -> None:
    figures = kill_worker(tmp_path, f"sqlite:///{tmp_path / 'worker.db'}", KILLS)
    print("\n" + figures.line(), *figures.notes)
    assert figures.clean, [figures.line(), *figures.notes]
    assert figures.killed_mid_way > 0  # the kills did land while jobs ran
