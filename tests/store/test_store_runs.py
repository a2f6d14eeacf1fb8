"""Run bookkeeping: a run whose process died is marked failed, never left "running"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from store_samples import write_mnist_pngs

from pixclass.config import Settings
from pixclass.services.ingest import ingest
from pixclass.store import (
    INTERRUPTED,
    Store,
    cancel_run,
    fail_interrupted_runs,
    get_run,
    list_runs,
    open_store,
)
from pixclass.store.runs import STALE_AFTER, Heartbeat, create_run, pid_alive, start_run
from pixclass.store.schema import Run, utcnow

pytestmark = pytest.mark.usefixtures("mnist_available")


@pytest.fixture
def two(store: Store, tmp_path: Path) -> Store:
    write_mnist_pngs(tmp_path / "two", 2)
    ingest(store, tmp_path / "two", "two")
    return store


def _set(store: Store, run_id: int, **values: object) -> None:
    with store.write() as session:
        session.execute(sa.update(Run).where(Run.id == run_id).values(**values))


def test_dead_pid_is_failed_on_next_open(two: Store, settings: Settings) -> None:
    run_id = create_run(two, "two", features="pixels")
    start_run(two, run_id)
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    _set(two, run_id, pid=int(child.stdout))  # a process that has exited
    assert not pid_alive(int(child.stdout))
    with open_store(settings) as reopened:
        run = get_run(reopened, run_id)
    assert (run.status, run.error) == ("failed", INTERRUPTED)
    assert run.finished_at is not None


def test_live_run_is_left_alone(two: Store) -> None:
    run_id = create_run(two, "two", features="pixels")
    start_run(two, run_id)  # this process, alive, fresh heartbeat
    assert fail_interrupted_runs(two) == []
    assert get_run(two, run_id).status == "running"


def test_stale_heartbeat_on_another_machine_is_failed(two: Store) -> None:
    run_id = create_run(two, "two", features="pixels")
    start_run(two, run_id)
    _set(two, run_id, host="some-other-machine", pid=1)
    assert fail_interrupted_runs(two) == []  # its heartbeat is fresh: maybe alive
    later = utcnow() + STALE_AFTER + timedelta(seconds=1)
    assert fail_interrupted_runs(two, now=later) == [run_id]
    assert [r.status for r in list_runs(two)] == ["failed"]


def test_queued_and_finished_runs_are_not_touched(two: Store) -> None:
    queued = create_run(two, "two", features="pixels")
    cancelled = create_run(two, "two", features="pixels")
    cancel_run(two, cancelled)
    assert fail_interrupted_runs(two, now=utcnow() + timedelta(days=1)) == []
    assert get_run(two, queued).status == "queued"
    assert get_run(two, cancelled).status == "cancelled"


def test_heartbeat_moves(two: Store) -> None:
    run_id = create_run(two, "two", features="pixels")
    start_run(two, run_id)
    first = get_run(two, run_id).heartbeat_at
    with Heartbeat(two, run_id, interval=0.05):
        time.sleep(0.3)
    assert get_run(two, run_id).heartbeat_at > first  # type: ignore[operator]


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
