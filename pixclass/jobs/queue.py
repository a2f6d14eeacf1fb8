"""The job queue: Huey on SQLite (default), Redis, PostgreSQL, or in-process ("immediate").

The queue carries only job ids; a job's state lives in the database (``store.jobs``). Which
queue is used is one setting, ``queue_url`` (``PIXCLASS_QUEUE_URL``):

* ``sqlite`` (default): ``<data_dir>/queue.db``, no server; app and worker on one machine.
* ``redis://host:6379/0``: a Redis server; workers on several machines.
* ``postgresql://user@host/db``: tables ``pixclass_queue_*`` in a PostgreSQL database (often the
  one ``database_url`` names); workers wake up through LISTEN/NOTIFY.
* ``immediate``: no queue; ``submit_job`` runs the job before it returns (tests, scripts).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from huey import Huey, MemoryHuey, PostgresHuey, RedisHuey, SqliteHuey
from huey.api import Task, TaskWrapper

from pixclass.config import Settings
from pixclass.errors import InputError, MissingExtraError

QUEUE_FILE = "queue.db"
QUEUE_NAME = "pixclass"
QUEUE_HINT = (
    "set queue_url (PIXCLASS_QUEUE_URL) to 'sqlite', 'immediate', redis://HOST:6379/0 or "
    "postgresql://USER@HOST/DBNAME"
)


@dataclass(frozen=True)
class JobQueue:
    """A Huey instance with pixclass's one task registered on it.

    Attributes
    ----------
    huey : Huey
    description : str
        Where the queue is, for messages (passwords masked).
    """

    huey: Huey
    run_job: TaskWrapper
    description: str

    @property
    def immediate(self) -> bool:
        return bool(self.huey.immediate)

    def task(self, job_id: int) -> Task:
        """The task that runs job ``job_id``, not yet enqueued (its ``id`` is already set)."""
        task: Task = self.run_job.s(job_id)
        return task

    def revoke(self, task_id: str) -> None:
        """Make a worker drop the task when it takes it from the queue."""
        self.huey.revoke_by_id(task_id)


def job_queue(settings: Settings) -> JobQueue:
    """The queue ``settings.queue_url`` names (one instance per settings, reused).

    Raises
    ------
    InputError
        ``queue_url`` is not one of the forms above.
    MissingExtraError
        The Redis or PostgreSQL client library is not installed.
    """
    try:
        hash(settings)
    except TypeError:  # settings that cannot be hashed get a queue of their own
        return _new_queue(settings)
    return _cached_queue(settings)


@lru_cache(maxsize=8)
def _cached_queue(settings: Settings) -> JobQueue:
    # Reused, so that submitting jobs does not open a connection to the queue each time.
    return _new_queue(settings)


def _new_queue(settings: Settings) -> JobQueue:
    url = (settings.queue_url or "sqlite").strip()
    huey, description = _make_huey(settings, url)

    def run_job(job_id: int) -> None:
        from pixclass.jobs.runner import execute_job  # the task body: imported where it runs

        execute_job(settings, job_id)

    return JobQueue(huey, huey.task(name="run_job")(run_job), description)


def _make_huey(settings: Settings, url: str) -> tuple[Huey, str]:
    if url == "immediate":
        return MemoryHuey(QUEUE_NAME, immediate=True, results=False), "immediate (no queue)"
    if url == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path = settings.data_dir / QUEUE_FILE
        return SqliteHuey(QUEUE_NAME, filename=str(path), results=False), f"SQLite file {path}"
    scheme = urlsplit(url).scheme.lower()
    name = _shared_queue_name(settings)
    if scheme in ("redis", "rediss", "unix"):
        _require("redis", "redis", "a Redis job queue")
        huey = RedisHuey(name, url=url, results=False)
        return huey, f"Redis {_masked(url)} (queue {name})"
    if scheme.startswith("postgres"):
        _require("psycopg", "postgres", "a PostgreSQL job queue")
        dsn = "postgresql://" + url.split("://", 1)[1]  # psycopg takes no "+driver" part
        huey = PostgresHuey(name, dsn=dsn, table_prefix="pixclass_queue", results=False)
        return huey, f"PostgreSQL {_masked(url)} (queue {name})"
    raise InputError(f"unknown job queue {url!r}: {QUEUE_HINT}")


def _shared_queue_name(settings: Settings) -> str:
    """A queue name per database, so that several pixclass installations can share one server.

    The app and its workers must use the same ``database_url``: a worker then serves exactly
    the jobs whose rows it can read.
    """
    database = settings.resolved_database_url
    try:
        parsed = urlsplit(database)
        if parsed.password:
            database = database.replace(f":{parsed.password}@", "@", 1)
    except ValueError:
        pass
    digest = hashlib.sha256(database.encode()).hexdigest()[:12]
    return f"{QUEUE_NAME}-{digest}"


def _masked(url: str) -> str:
    try:
        parsed = urlsplit(url)
    except ValueError:
        return url
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":****@", 1)
    return url


def _require(module: str, extra: str, purpose: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(module, extra, purpose)


__all__ = ["JobQueue", "job_queue"]
