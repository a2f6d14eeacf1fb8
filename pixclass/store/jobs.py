"""Jobs: background work (cluster, ingest, classify) from queued to done, failed or cancelled.

The row is created when the job is submitted and is the one place its state lives: the queue
only carries the job id. A running job records its pid, host and a heartbeat, exactly as runs do
(``runs.pid_alive``, ``runs.STALE_AFTER``), and ``get_job``/``list_jobs`` mark failed every running
job whose process is gone, so a killed worker never leaves a job "running" forever.

Cancelling a queued job marks it cancelled at once (a worker that takes it later skips it).
Cancelling a running job sets ``cancel_requested``; the job sees it at its next progress report
(``report_progress`` returns it) and stops.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pixclass.errors import ConflictError, InputError, NotFoundError, hide_paths
from pixclass.store.collections import collection_id, ensure_collection
from pixclass.store.db import Store
from pixclass.store.runs import Heartbeat, interrupted, started_here, this_host
from pixclass.store.schema import JOB_KINDS, Collection, Job, utcnow

JOB_INTERRUPTED = "interrupted (worker killed)"
ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class JobInfo:
    """A job as the CLI and the web app see it.

    Attributes
    ----------
    state : str
        ``queued``, ``running``, ``done``, ``failed`` or ``cancelled``.
    stage, fraction, message
        The latest progress report: what it is doing, how far along (0 to 1), in words.
    params : dict
        What was asked for (``n_clusters``, ``source``, ``image_ids``, ...).
    result : dict
        What it produced: ``run_id``, counts, ... (filled in as soon as known).
    stages : list of dict
        ``{"stage": ..., "at": seconds after the start}`` for each stage it went through.
    cancel_requested : bool
        Someone asked a running job to stop; it will at its next progress report.
    """

    id: int
    kind: str
    collection: str
    state: str
    stage: str | None
    fraction: float
    message: str | None
    error: str | None
    params: dict[str, Any]
    result: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool
    task_id: str | None
    heartbeat_at: datetime | None
    pid: int | None
    host: str | None
    stages: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (timestamps as ISO 8601 strings)."""
        row = asdict(self)
        for key in ("created_at", "started_at", "finished_at", "heartbeat_at"):
            row[key] = row[key].isoformat() if row[key] is not None else None
        return row


def create_job(
    store: Store, kind: str, collection: str, params: dict[str, Any], *, create: bool = False
) -> int:
    """Record a queued job; returns its id.

    ``create`` makes the collection when it does not exist yet (an ingest into a new one);
    otherwise a missing collection is a ``NotFoundError``.
    """
    if kind not in JOB_KINDS:
        raise InputError(f"unknown job kind {kind!r}; use one of {', '.join(JOB_KINDS)}")
    with store.write() as session:
        find = ensure_collection if create else collection_id
        key = find(session, collection)
        job = Job(
            collection_id=key,
            kind=kind,
            state="queued",
            params=dict(params),
            result={},
            fraction=0.0,
            stages=[],
            cancel_requested=False,
        )
        session.add(job)
        session.flush()
        return job.id


def set_task_id(store: Store, job_id: int, task_id: str) -> None:
    """Remember the queue's id of the job's task."""
    with store.write() as session:
        session.execute(update(Job).where(Job.id == job_id).values(task_id=task_id))


def start_job(store: Store, job_id: int) -> JobInfo | None:
    """Mark a queued job running in this process; None when it is not queued (cancelled, gone)."""
    now = utcnow()
    with store.write() as session:
        changed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="running", **started_here(now))
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            return None
    return _read(store, job_id)


def report_progress(
    store: Store, job_id: int, stage: str, fraction: float, message: str | None = None
) -> bool:
    """Store the progress of a running job; returns True when it was asked to stop.

    A job that no longer exists (its collection was deleted) counts as asked to stop.
    """
    now = utcnow()
    with store.write() as session:
        job = session.get(Job, job_id)
        if job is None:
            return True
        if stage != job.stage:
            since = (now - job.started_at).total_seconds() if job.started_at else 0.0
            job.stages = [*(job.stages or []), {"stage": stage, "at": round(since, 3)}]
        job.stage = stage
        job.fraction = max(0.0, min(1.0, float(fraction)))
        job.message = message
        job.heartbeat_at = now
        return bool(job.cancel_requested) or job.state != "running"


def update_job_result(store: Store, job_id: int, values: dict[str, Any]) -> None:
    """Merge ``values`` into a job's result (e.g. the run id, as soon as it exists)."""
    with store.write() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.result = {**(job.result or {}), **values}


def finish_job(store: Store, job_id: int, result: dict[str, Any]) -> None:
    """Mark a running job done with its result."""
    _finish(store, job_id, "done", result=result, fraction=1.0, message="done")


def fail_job(store: Store, job_id: int, error: str) -> None:
    """Mark a job failed with ``error`` (unless it already finished); absolute paths in it are
    cut to their file names, as for a run's error."""
    _finish(store, job_id, "failed", error=hide_paths(error))


def mark_cancelled(store: Store, job_id: int) -> None:
    """Mark a job cancelled (unless it already finished): the worker stopped it on request."""
    _finish(store, job_id, "cancelled", message="cancelled")


def _finish(store: Store, job_id: int, state: str, **values: Any) -> None:
    with store.write() as session:
        job = session.get(Job, job_id)
        if job is None or job.state in FINISHED:
            return
        if "result" in values:
            values["result"] = {**(job.result or {}), **values["result"]}
        for key, value in {"state": state, "finished_at": utcnow(), **values}.items():
            setattr(job, key, value)


def cancel_job(store: Store, job_id: int) -> JobInfo:
    """Cancel a job: a queued one at once, a running one at its next progress report.

    Raises
    ------
    NotFoundError
        No such job.
    ConflictError
        The job already finished.
    """
    fail_interrupted_jobs(store)
    with store.write() as session:
        job = _row(session, job_id)
        if job.state in FINISHED:
            raise ConflictError(f"job {job_id} is already {job.state}; there is nothing to cancel")
        if job.state == "queued":
            job.state = "cancelled"
            job.finished_at = utcnow()
            job.message = "cancelled before it started"
        job.cancel_requested = True
    return _read(store, job_id)


def fail_interrupted_jobs(store: Store, *, now: datetime | None = None) -> list[int]:
    """Mark failed every running job whose worker died; returns their ids.

    The rule of ``runs.fail_interrupted_runs``: the job's host is this machine and its pid is not
    alive, or its heartbeat is older than ``STALE_AFTER``.
    """
    with store.session() as session:
        rows = session.execute(
            select(Job.id, Job.pid, Job.host, Job.heartbeat_at).where(Job.state == "running")
        ).all()
    dead = interrupted(rows, now or utcnow())
    for job_id in dead:
        fail_job(store, job_id, JOB_INTERRUPTED)
    return dead


def fail_jobs_of_this_process(store: Store, error: str) -> list[JobInfo]:
    """Mark failed the running jobs of this process (a worker stopping before they finish)."""
    with store.session() as session:
        ids = session.scalars(
            select(Job.id).where(
                Job.state == "running", Job.pid == os.getpid(), Job.host == this_host()
            )
        ).all()
    for job_id in ids:
        fail_job(store, job_id, error)
    return [_read(store, job_id) for job_id in ids]


class JobHeartbeat(Heartbeat):
    """Beats for a job from a background thread while the ``with`` block runs."""

    def _beat(self) -> None:
        with self.store.write() as session:
            session.execute(
                update(Job)
                .where(Job.id == self.run_id, Job.state == "running")
                .values(heartbeat_at=utcnow())
            )


def get_job(store: Store, job_id: int) -> JobInfo:
    """One job by id (after marking jobs of dead workers failed); ``NotFoundError`` if none."""
    fail_interrupted_jobs(store)
    return _read(store, job_id)


def list_jobs(
    store: Store,
    collection: str | None = None,
    limit: int = 50,
    *,
    states: tuple[str, ...] | None = None,
    kind: str | None = None,
) -> list[JobInfo]:
    """Jobs, newest first, of one collection or of all (after marking dead workers' jobs failed).

    ``states`` and ``kind`` narrow the list (``states=("queued", "running")``: the active ones).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    fail_interrupted_jobs(store)
    with store.session() as session:
        query = (
            select(Job, Collection.name)
            .join(Collection, Collection.id == Job.collection_id)
            .order_by(Job.id.desc())
            .limit(limit)
        )
        if collection is not None:
            query = query.where(Job.collection_id == collection_id(session, collection))
        if states is not None:
            query = query.where(Job.state.in_(states))
        if kind is not None:
            query = query.where(Job.kind == kind)
        return [_info(job, name) for job, name in session.execute(query)]


def _read(store: Store, job_id: int) -> JobInfo:
    with store.session() as session:
        job = _row(session, job_id)
        name = session.scalar(select(Collection.name).where(Collection.id == job.collection_id))
        return _info(job, name or "")


def _row(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"no job with id {job_id}; `pixclass jobs list` shows the jobs")
    return job


def _info(job: Job, collection: str) -> JobInfo:
    return JobInfo(
        id=job.id,
        kind=job.kind,
        collection=collection,
        state=job.state,
        stage=job.stage,
        fraction=float(job.fraction or 0.0),
        message=job.message,
        error=job.error,
        params=dict(job.params or {}),
        result=dict(job.result or {}),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        cancel_requested=bool(job.cancel_requested),
        task_id=job.task_id,
        heartbeat_at=job.heartbeat_at,
        pid=job.pid,
        host=job.host,
        stages=list(job.stages or []),
    )
