"""Submitting, reading and cancelling jobs: the functions the CLI and the web app call."""

from __future__ import annotations

import logging
from typing import Any

from pixclass.config import Settings
from pixclass.errors import PixclassError
from pixclass.jobs.params import check_params
from pixclass.jobs.queue import job_queue
from pixclass.store import Store, open_store
from pixclass.store import jobs as stored

log = logging.getLogger(__name__)


class QueueUnavailableError(PixclassError):
    """The job queue (Redis, PostgreSQL, the SQLite file) cannot be reached."""


def submit_job(
    settings: Settings, kind: str, collection: str, params: dict[str, Any] | None = None
) -> int:
    """Queue a job; returns its id. With ``queue_url = "immediate"`` it has run on return.

    Parameters
    ----------
    settings : Settings
    kind : {"cluster", "ingest", "classify"}
    collection : str
        The collection to work on. An ingest job creates it when it does not exist yet.
    params : dict, optional
        See ``pixclass.jobs.params``: cluster takes ``n_clusters``, ``features``, ``seed``,
        ``method``; ingest takes ``source``; classify takes ``image_ids`` or ``source``.

    Raises
    ------
    InputError
        An unknown kind or parameter, or a value that cannot be used.
    NotFoundError
        No such collection (cluster, classify).
    QueueUnavailableError
        The queue cannot be reached; the job is recorded as failed with the reason.
    """
    checked = check_params(settings, kind, params)
    queue = job_queue(settings)
    with open_store(settings) as store:
        job_id = stored.create_job(store, kind, collection, checked, create=kind == "ingest")
        task = queue.task(job_id)
        stored.set_task_id(store, job_id, task.id)
        try:
            queue.huey.enqueue(task)
        except Exception as exc:
            reason = f"could not queue the job on {queue.description}: {exc}"
            stored.fail_job(store, job_id, reason)
            raise QueueUnavailableError(
                f"{reason}. Check queue_url (PIXCLASS_QUEUE_URL) and that the server is running"
            ) from exc
    log.info("job %s: %s of %s queued on %s", job_id, kind, collection, queue.description)
    return job_id


def cancel_job(store: Store, job_id: int, *, settings: Settings | None = None) -> stored.JobInfo:
    """Cancel a job: a queued one at once, a running one at its next progress report.

    With ``settings``, a queued job's task is also revoked in the queue (without, a worker that
    takes it skips it all the same, since its row says cancelled).

    Raises
    ------
    NotFoundError
        No such job.
    ConflictError
        The job already finished.
    """
    info = stored.cancel_job(store, job_id)
    if settings is not None and info.state == "cancelled" and info.task_id:
        try:
            job_queue(settings).revoke(info.task_id)
        except Exception as exc:  # the row is what counts; the revoke only saves a wake-up
            log.warning("job %s: could not revoke its task in the queue: %s", job_id, exc)
    return info
