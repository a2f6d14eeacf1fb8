"""Running one job in a worker: state, progress, heartbeat, cancellation, errors.

``execute_job`` is the body of the queue's one task. It takes the job's row from queued to
running (or skips a job cancelled meanwhile), runs its kind with a progress callback that stores
each report and raises ``Cancelled`` once someone asked the job to stop, and ends the row done,
failed (with the error) or cancelled. It never raises: the queue has nothing to do with errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pixclass.config import Settings
from pixclass.errors import PixclassError
from pixclass.progress import Cancelled
from pixclass.store import Store, open_store
from pixclass.store.jobs import (
    JobHeartbeat,
    JobInfo,
    fail_job,
    finish_job,
    mark_cancelled,
    report_progress,
    start_job,
)

log = logging.getLogger(__name__)

# Progress is written at most this often within one stage (stage changes are always written).
MIN_REPORT_INTERVAL = 0.25

StagePlan = Mapping[str, tuple[float, float]]


class JobProgress:
    """A ``progress(stage, done, total)`` callback that stores a job's progress.

    ``plan`` maps each stage to the share of the whole job it covers, so that ``fraction`` runs
    from 0 to 1 across stages. While ``cancellable``, a report made after someone asked the job
    to stop raises ``Cancelled``.
    """

    def __init__(self, store: Store, job_id: int, plan: StagePlan) -> None:
        self.store = store
        self.job_id = job_id
        self.plan = plan
        self.cancellable = True
        self.fraction = 0.0
        self._stage: str | None = None
        self._written = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        start, end = self.plan.get(stage, (self.fraction, self.fraction))
        share = min(1.0, done / total) if total > 0 else 0.0
        self.fraction = max(self.fraction, start + (end - start) * share)
        now = time.monotonic()
        finished = total > 0 and done >= total
        if stage == self._stage and not finished and now - self._written < MIN_REPORT_INTERVAL:
            return
        self._stage, self._written = stage, now
        message = f"{stage} {done}/{total}" if total > 1 else stage
        try:
            stop = report_progress(self.store, self.job_id, stage, self.fraction, message)
        except Exception as exc:  # a busy database now and then must not end the job
            log.warning("job %s: could not store progress (%s)", self.job_id, exc)
            return
        if stop and self.cancellable:
            raise Cancelled(f"job {self.job_id} was cancelled")


@dataclass
class JobContext:
    """What a job's kind gets to work with."""

    settings: Settings
    store: Store
    job: JobInfo
    progress: JobProgress


JobKind = Callable[[JobContext], dict[str, object]]


def execute_job(settings: Settings, job_id: int) -> None:
    """Run job ``job_id`` to its end state (see the module docs). Never raises."""
    try:
        store = open_store(settings)
    except Exception:
        log.exception("job %s: cannot open the database; the job stays queued", job_id)
        return
    with store:
        try:
            job = start_job(store, job_id)
        except Exception:
            log.exception("job %s: cannot start it", job_id)
            return
        if job is None:
            log.warning(
                "job %s is not queued in %s (cancelled, or submitted with another "
                "database_url than this worker's); skipped",
                job_id,
                store.url,
            )
            return
        _run(settings, store, job)


def _run(settings: Settings, store: Store, job: JobInfo) -> None:
    from pixclass.jobs.kinds import KINDS, stage_plan

    progress = JobProgress(store, job.id, stage_plan(job))
    log.info("job %s: %s of %s started", job.id, job.kind, job.collection)
    try:
        with JobHeartbeat(store, job.id):
            result = KINDS[job.kind](JobContext(settings, store, job, progress))
    except Cancelled:
        mark_cancelled(store, job.id)
        log.info("job %s: cancelled", job.id)
    except KeyboardInterrupt:
        fail_job(store, job.id, "interrupted (Ctrl-C)")
        raise
    except Exception as exc:
        error = describe_error(exc)
        if isinstance(exc, PixclassError):
            log.warning("job %s failed: %s", job.id, error)
        else:
            log.exception("job %s failed", job.id)
        fail_job(store, job.id, error)
    else:
        finish_job(store, job.id, dict(result))
        log.info("job %s: done %s", job.id, result)


def describe_error(exc: BaseException) -> str:
    """The error as a person reads it: pixclass's own messages as they are, others typed."""
    if isinstance(exc, PixclassError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
