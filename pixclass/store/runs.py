"""Runs: one clustering of a collection, from queued to done, failed or cancelled.

A running run records the pid and host of its process and a heartbeat every
``HEARTBEAT_SECONDS``. Whenever a store is opened, runs whose process is gone (same host, pid not
alive) or whose heartbeat is older than ``STALE_AFTER`` (any host) are marked failed with
``INTERRUPTED``, so a killed run never shows as "running" forever.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pixclass.errors import NotFoundError, hide_paths
from pixclass.store.collections import collection_id
from pixclass.store.db import Store
from pixclass.store.schema import Assignment, Collection, Run, utcnow

INTERRUPTED = "interrupted (process killed)"
HEARTBEAT_SECONDS = 10.0
# Twelve missed heartbeats: a process this silent is hung or on a machine that is gone.
STALE_AFTER = timedelta(seconds=120)
ACTIVE = ("running",)
FINISHED = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class RunInfo:
    """A run as the CLI and web app see it."""

    id: int
    collection: str
    status: str
    features: str
    params: dict[str, Any]
    n_clusters: int | None
    n_images: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    pid: int | None
    host: str | None
    timings: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None


def this_host() -> str:
    return socket.gethostname()


def create_run(
    store: Store,
    collection: str,
    *,
    features: str,
    params: dict[str, Any] | None = None,
) -> int:
    """Queue a run of ``collection``; returns its id."""
    with store.write() as session:
        run = Run(
            collection_id=collection_id(session, collection),
            status="queued",
            features=features,
            params=dict(params or {}),
            timings={},
            metrics={},
        )
        session.add(run)
        session.flush()
        return run.id


def started_here(now: datetime) -> dict[str, Any]:
    """The columns that say a run or a job started now in this process (pid, host, heartbeat)."""
    return {"started_at": now, "heartbeat_at": now, "pid": os.getpid(), "host": this_host()}


def start_run(store: Store, run_id: int) -> None:
    """Mark a run as running in this process (pid, host, first heartbeat)."""
    now = utcnow()
    with store.write() as session:
        run_row(session, run_id)
        session.execute(
            update(Run).where(Run.id == run_id).values(status="running", **started_here(now))
        )


def beat(store: Store, run_id: int) -> None:
    """Record that the process of a running run is alive."""
    with store.write() as session:
        session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "running")
            .values(heartbeat_at=utcnow())
        )


def fail_run(store: Store, run_id: int, error: str) -> None:
    """Mark a run failed with ``error`` (unless it already finished).

    Absolute paths in ``error`` are cut to their file names: the error is shown in the app and
    sent in notifications, and the folders an image came from are the server's business.
    """
    with store.write() as session:
        session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.not_in(FINISHED))
            .values(status="failed", error=hide_paths(error), finished_at=utcnow())
        )


def cancel_run(store: Store, run_id: int) -> None:
    """Mark a queued or running run cancelled."""
    with store.write() as session:
        run_row(session, run_id)
        session.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.not_in(FINISHED))
            .values(status="cancelled", finished_at=utcnow())
        )


def fail_interrupted_runs(store: Store, *, now: datetime | None = None) -> list[int]:
    """Mark failed every running run whose process died; returns their ids.

    A run is interrupted when its host is this machine and its pid is not alive, or when its
    heartbeat is older than ``STALE_AFTER`` (the only test possible for other machines).
    """
    with store.session() as session:
        rows = session.execute(
            select(Run.id, Run.pid, Run.host, Run.heartbeat_at).where(Run.status.in_(ACTIVE))
        ).all()
    dead = interrupted(rows, now or utcnow())
    for run_id in dead:
        fail_run(store, run_id, INTERRUPTED)
    return dead


def interrupted(rows: Iterable[Sequence[Any]], now: datetime) -> list[int]:
    """The ids of the ``(id, pid, host, heartbeat_at)`` rows whose process died: its host is this
    machine and its pid is not alive, or its heartbeat is older than ``STALE_AFTER`` (the only
    test possible for other machines). The one rule for runs and jobs."""
    host = this_host()
    return [
        row_id
        for row_id, pid, row_host, heartbeat in rows
        if (row_host == host and pid is not None and not pid_alive(pid))
        or heartbeat is None
        or now - heartbeat > STALE_AFTER
    ]


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this machine and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    # A killed child that its parent has not reaped yet still answers signal 0.
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


class Heartbeat:
    """Beats for a run from a background thread while the ``with`` block runs."""

    def __init__(self, store: Store, run_id: int, interval: float = HEARTBEAT_SECONDS) -> None:
        self.store = store
        self.run_id = run_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._beat()
            except Exception:  # a locked database now and then must not end the run
                continue

    def _beat(self) -> None:
        beat(self.store, self.run_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_row(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"no run with id {run_id}; `pixclass runs list` shows the runs")
    return run


def _info(run: Run, collection: str, n_images: int) -> RunInfo:
    return RunInfo(
        id=run.id,
        collection=collection,
        status=run.status,
        features=run.features,
        params=dict(run.params or {}),
        n_clusters=run.n_clusters,
        n_images=n_images,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        heartbeat_at=run.heartbeat_at,
        pid=run.pid,
        host=run.host,
        timings=dict(run.timings or {}),
        metrics=dict(run.metrics or {}),
        error=run.error,
    )


def list_runs(store: Store, collection: str | None = None) -> list[RunInfo]:
    """Runs, newest first, of one collection or of all."""
    with store.session() as session:
        counts = (
            select(Assignment.run_id, func.count().label("n"))
            .group_by(Assignment.run_id)
            .subquery()
        )
        query = (
            select(Run, Collection.name, func.coalesce(counts.c.n, 0))
            .join(Collection, Collection.id == Run.collection_id)
            .outerjoin(counts, counts.c.run_id == Run.id)
            .order_by(Run.id.desc())
        )
        if collection is not None:
            query = query.where(Run.collection_id == collection_id(session, collection))
        return [_info(run, name, int(n)) for run, name, n in session.execute(query)]


def get_run(store: Store, run_id: int) -> RunInfo:
    """One run by id."""
    with store.session() as session:
        run = run_row(session, run_id)
        name = session.scalar(select(Collection.name).where(Collection.id == run.collection_id))
        n_images = session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.run_id == run_id)
        )
        return _info(run, name or "", int(n_images or 0))


def latest_done_run(session: Session, collection: int) -> int | None:
    """The newest finished ("done") run of a collection id."""
    return session.scalar(
        select(Run.id)
        .where(Run.collection_id == collection, Run.status == "done")
        .order_by(Run.id.desc())
        .limit(1)
    )
