"""Real workers: ``python -m pixclass worker`` in a subprocess, on SQLite (default), Redis and
PostgreSQL queues. A cluster job runs with its progress stored; a queued job and a running job
are cancelled; a worker killed with SIGKILL leaves its job failed, not running forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from jobs_samples import write_digits

from pixclass.config import Settings
from pixclass.jobs import JobInfo, cancel_job, get_job, submit_job
from pixclass.services.ingest import ingest
from pixclass.store import INTERRUPTED, Store, get_run, list_runs, open_store
from pixclass.store.db import create_store_engine
from pixclass.store.jobs import JOB_INTERRUPTED
from pixclass.store.migrate import upgrade

CLUSTER_STAGES = [
    "prepare",
    "decode",
    "deskew",
    "features",
    "reduce (PCA, UMAP)",
    "choose k",
    "cluster",
    "refine round 1",
    "refine round 1: relabel",
    "map",
    "notify",
]
POSTGRES_URL = os.environ.get(
    "PIXCLASS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PIXCLASS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """``pixclass worker`` with exactly these settings; returns once it serves the queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXCLASS_")}
    env.update(
        PIXCLASS_DATA_DIR=str(settings.data_dir),
        PIXCLASS_DATABASE_URL=settings.database_url,
        PIXCLASS_QUEUE_URL=settings.queue_url,
    )
    handle = open(log, "ab")  # noqa: SIM115  (closed with the process, below)
    command = [sys.executable, "-m", "pixclass", "worker"]
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    deadline = time.monotonic() + 60
    while b"worker started" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the worker did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


@contextmanager
def running_worker(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(settings, log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # Ctrl-C: stop taking jobs, finish the current
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(store: Store, job_id: int, *states: str, timeout: float = 300.0) -> JobInfo:
    deadline = time.monotonic() + timeout
    while (job := get_job(store, job_id)).state not in states:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is still {job.state} ({job.message})")
        time.sleep(0.1)
    return job


def under_way(store: Store, job_id: int, timeout: float = 120.0) -> None:
    """Wait until a cluster job is well under way: running, with its run created."""
    deadline = time.monotonic() + timeout
    while "run_id" not in (job := get_job(store, job_id)).result:
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


@pytest.fixture
def digits(tmp_path: Path) -> Settings:
    """SQLite database and queue (the defaults) with 150 digits in collection "digits"."""
    settings = Settings(data_dir=tmp_path / "data", queue_url="sqlite")
    write_digits(tmp_path / "digits", 0, 150)
    with open_store(settings) as store:
        ingest(store, tmp_path / "digits", "digits")
    return settings


@pytest.mark.slow
def test_a_cluster_job_runs_with_progress_and_a_cancelled_one_never_starts(
    digits: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with running_worker(digits, log) as worker, open_store(digits) as store:
        first = submit_job(digits, "cluster", "digits", {"seed": 0})
        second = submit_job(digits, "cluster", "digits", {"seed": 0})
        assert cancel_job(store, second, settings=digits).state == "cancelled"
        seen = []
        while (job := get_job(store, first)).state in ("queued", "running"):
            seen.append(job.fraction)
            time.sleep(0.2)
        skipped = get_job(store, second)
        runs = list_runs(store, "digits")
    assert worker.returncode == 0, log.read_text()  # Ctrl-C: a clean stop
    assert job.state == "done", job.error
    assert [stage["stage"] for stage in job.stages] == CLUSTER_STAGES
    assert job.fraction == 1.0 and seen == sorted(seen) and 0 < max(seen, default=0) < 1
    assert job.pid == worker.pid and job.result["n_images"] == 150
    assert [run.id for run in runs] == [job.result["run_id"]]
    assert (skipped.state, skipped.started_at) == ("cancelled", None)


@pytest.mark.slow
def test_a_running_job_stops_when_cancelled(digits: Settings, tmp_path: Path) -> None:
    with running_worker(digits, tmp_path / "worker.log"), open_store(digits) as store:
        job_id = submit_job(digits, "cluster", "digits", {})
        under_way(store, job_id)
        assert cancel_job(store, job_id).cancel_requested
        job = wait_for(store, job_id, "cancelled", "done", "failed")
        run = get_run(store, job.result["run_id"])
    assert job.state == "cancelled"
    assert run.status == "cancelled"


@pytest.mark.slow
def test_a_killed_worker_leaves_its_job_failed(digits: Settings, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(digits, log)
    try:
        with open_store(digits) as store:
            job_id = submit_job(digits, "cluster", "digits", {})
            under_way(store, job_id)
    finally:
        worker.kill()  # SIGKILL: no chance to clean up
        worker.wait()
    with open_store(digits) as store:  # listing the jobs is what notices
        job = get_job(store, job_id)
        [run] = list_runs(store, "digits")
    assert (job.state, job.error) == ("failed", JOB_INTERRUPTED)
    assert (run.status, run.error) == ("failed", INTERRUPTED)

    write_digits(digits.data_dir / "uploads", 500, 5)  # and the next worker carries on
    with running_worker(digits, log), open_store(digits) as store:
        ingest_job = submit_job(digits, "ingest", "digits", {"source": "uploads"})
        assert wait_for(store, ingest_job, "done", "failed").result["added"] == 5


def _redis_reachable() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        reason = f"Redis at {REDIS_URL} is unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set, so this is a failure)")
        pytest.skip(reason)


@pytest.mark.redis
def test_a_worker_stops_when_the_server_that_started_it_is_killed(
    digits: Settings, tmp_path: Path
) -> None:
    """``pixclass serve`` passes its pid; SIGKILL on the server must not leave the worker behind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXCLASS_")}
    env.update(
        PIXCLASS_DATA_DIR=str(digits.data_dir),
        PIXCLASS_DATABASE_URL=digits.database_url,
        PIXCLASS_QUEUE_URL=digits.queue_url,
    )
    pid_file, log = tmp_path / "worker.pid", tmp_path / "worker.log"
    # A stand-in for the server: starts the worker as serve does, then waits to be killed.
    parent = (
        "import os, subprocess, sys, time\n"
        f"log = open({str(log)!r}, 'ab')\n"
        "child = subprocess.Popen([sys.executable, '-m', 'pixclass', 'worker', '--parent-pid',"
        " str(os.getpid())], stdout=log, stderr=subprocess.STDOUT)\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", parent], env=env)
    deadline = time.monotonic() + 60
    while not (log.exists() and b"worker started" in log.read_bytes()):
        assert time.monotonic() < deadline and server.poll() is None, log.read_text()
        time.sleep(0.1)
    worker_pid = int(pid_file.read_text())
    server.kill()
    server.wait()
    deadline = time.monotonic() + 30
    while _alive(worker_pid):
        if time.monotonic() > deadline:
            os.kill(worker_pid, signal.SIGKILL)
            raise AssertionError(f"the worker outlived its server:\n{log.read_text()}")
        time.sleep(0.2)
    assert b"is gone; stopping" in log.read_bytes()


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for init to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_redis_queue_serves_jobs(tmp_path: Path) -> None:
    _redis_reachable()
    settings = Settings(data_dir=tmp_path / "data", queue_url=REDIS_URL)
    write_digits(settings.data_dir / "uploads", 0, 20)
    with open_store(settings) as store:
        cancelled = submit_job(settings, "ingest", "digits", {"source": "uploads"})
        cancel_job(store, cancelled, settings=settings)  # revoked while no worker runs
        with running_worker(settings, tmp_path / "worker.log"):
            job_id = submit_job(settings, "ingest", "digits", {"source": "uploads"})
            job = wait_for(store, job_id, "done", "failed", timeout=120)
        assert get_job(store, cancelled).started_at is None
    assert job.state == "done", job.error
    assert job.result["added"] == 20


@pytest.fixture
def postgres_settings(tmp_path: Path) -> Iterator[Settings]:
    """A fresh PostgreSQL schema holding both the database and the queue."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:
        reason = f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(exc).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set, so this is a failure)")
        pytest.skip(reason)
    schema = f"pixclass_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    database = url.render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path / "data", database_url=database, queue_url=database)
    engine = create_store_engine(database)
    upgrade(engine)
    engine.dispose()
    try:
        yield settings
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_a_postgresql_queue_serves_jobs(postgres_settings: Settings, tmp_path: Path) -> None:
    settings = postgres_settings
    write_digits(settings.data_dir / "uploads", 0, 20)
    with running_worker(settings, tmp_path / "worker.log"), open_store(settings) as store:
        job_id = submit_job(settings, "ingest", "digits", {"source": "uploads"})
        job = wait_for(store, job_id, "done", "failed", timeout=120)
    assert job.state == "done", job.error
    assert job.result["added"] == 20
