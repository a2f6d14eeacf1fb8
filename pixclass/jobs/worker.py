"""``run_worker``: a Huey consumer, in this process, that runs the queued jobs.

On start it marks failed the jobs of workers that died (SIGKILL, a power cut): their rows still
say "running" but their process is gone. Ctrl-C stops it gracefully: it takes no new job and
lets the running one finish; a second Ctrl-C stops it at once, and the job it was running is
marked failed ("worker stopped"), as is its run.

Beside the jobs, every worker tries again the notifications that failed for a passing reason
(``pixclass.services.retries``), every ``RETRY_POLL_SECONDS``.

A worker started by ``pixclass serve`` is given the server's pid and stops by itself when that
process is gone (killed with SIGKILL, it cannot stop its child): otherwise it would keep the
queue and the cores of a server that no longer exists.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from huey.consumer import Consumer

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.jobs.queue import job_queue
from pixclass.store import Store, fail_run, open_store
from pixclass.store.jobs import fail_interrupted_jobs, fail_jobs_of_this_process

log = logging.getLogger(__name__)

WORKER_STOPPED = "worker stopped before the job finished; submit it again"
# Longest wait between two looks at a queue that cannot wake workers up (SQLite polls).
MAX_POLL_SECONDS = 1.0
# How often a worker started by ``serve`` checks that its server is still there.
PARENT_CHECK_SECONDS = 1.0
# Longest wait between two looks for notifications due for another try.
RETRY_POLL_SECONDS = 5.0


class _Consumer(Consumer):
    """Huey's consumer, usable from a thread other than the main one (no signal handlers there)."""

    def _set_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._set_signal_handlers()

    def _handle_signal(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and self._signum is None:
            log.info("stopping: the running job may finish; Ctrl-C again stops it now")
        super()._handle_signal(signum, frame)


def run_worker(
    settings: Settings,
    *,
    workers: int = 1,
    stop: threading.Event | None = None,
    parent_pid: int | None = None,
) -> None:
    """Run jobs from the queue until Ctrl-C (or until ``stop`` is set, when given).

    Parameters
    ----------
    settings : Settings
        The same database and queue as the app or CLI that submits the jobs.
    workers : int, default=1
        Jobs run at the same time (threads). Clustering already uses the cores it is given, so
        more than one mostly helps when many small jobs (ingest, classify) wait.
    stop : threading.Event, optional
        Run in a background thread until this is set (no signal handling).
    parent_pid : int, optional
        Stop (as on SIGTERM: the running job is marked failed) when this process, the one that
        started the worker, has exited.

    Raises
    ------
    InputError
        ``queue_url`` is "immediate": jobs run inside ``submit_job``; there is nothing to serve.
    """
    queue = job_queue(settings)
    if queue.immediate:
        raise InputError(
            "queue_url is 'immediate': jobs run inside submit_job and need no worker; set "
            "queue_url (PIXCLASS_QUEUE_URL) to 'sqlite', a redis:// or a postgresql:// URL"
        )
    with open_store(settings) as store:
        for job_id in fail_interrupted_jobs(store):
            log.warning("job %s was running in a worker that died; marked failed", job_id)
    consumer = _Consumer(
        queue.huey,
        workers=workers,
        periodic=False,
        max_delay=MAX_POLL_SECONDS,
        worker_type="thread",
    )
    if parent_pid is not None:
        _watch_parent(parent_pid)
    retries_stop = threading.Event()
    _retry_notifications(settings, retries_stop)
    log.info("worker started: %d worker thread(s), queue %s", workers, queue.description)
    try:
        if stop is None:
            consumer.run()
        else:
            consumer.start()
            stop.wait()
            consumer.stop(graceful=True)
    finally:
        retries_stop.set()
        _fail_unfinished(settings)


def _retry_notifications(settings: Settings, stop: threading.Event) -> None:
    """A thread that sends again the notifications due for another try, until ``stop``."""
    from pixclass.services.retries import retry_due

    interval = min(RETRY_POLL_SECONDS, max(0.5, settings.notify_retry_backoff_seconds / 2))

    def loop() -> None:
        store: Store | None = None
        while not stop.wait(interval):
            try:
                store = store or open_store(settings)
                retry_due(settings, store)
            except Exception:  # a busy or unreachable database: try again at the next turn
                log.exception("could not retry the notifications due")
                if store is not None:
                    store.close()
                store = None
        if store is not None:
            store.close()

    threading.Thread(target=loop, name="notify-retries", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    """Send this process SIGTERM once ``parent_pid`` is no longer its parent (it has died)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        log.warning("the process that started this worker (pid %d) is gone; stopping", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _fail_unfinished(settings: Settings) -> None:
    """Mark failed the jobs (and their runs) this process was running when it was stopped."""
    with open_store(settings) as store:
        for job in fail_jobs_of_this_process(store, WORKER_STOPPED):
            log.warning("job %s stopped before it finished; marked failed", job.id)
            run_id = job.result.get("run_id")
            if isinstance(run_id, int):
                fail_run(store, run_id, WORKER_STOPPED)
