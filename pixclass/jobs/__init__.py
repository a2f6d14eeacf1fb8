"""Background work: clustering, ingesting and classifying as jobs on a Huey queue.

A job's state, progress and errors live in the database (``store.jobs``); the queue carries only
job ids. Run a worker with ``pixclass worker``; watch a folder with ``pixclass watch``.

    from pixclass.jobs import submit_job, get_job, list_jobs, cancel_job

    job_id = submit_job(settings, "cluster", "birds", {"n_clusters": "auto"})
    with open_store(settings) as store:
        print(get_job(store, job_id).state)

See docs/jobs.md.
"""

from __future__ import annotations

from pixclass.jobs.api import QueueUnavailableError, cancel_job, submit_job
from pixclass.store.jobs import JobInfo, get_job, list_jobs

__all__ = [
    "JobInfo",
    "QueueUnavailableError",
    "cancel_job",
    "get_job",
    "list_jobs",
    "submit_job",
]
