"""``open_store``: the one way the CLI, the web app and the workers get a ``Store``."""

from __future__ import annotations

from pathlib import Path

from pixclass.config import Settings
from pixclass.store.db import Store, create_store_engine, default_sqlite_path
from pixclass.store.jobs import fail_interrupted_jobs
from pixclass.store.migrate import check_schema
from pixclass.store.runs import fail_interrupted_runs


def open_store(settings: Settings, *, check: bool = True, recover: bool = True) -> Store:
    """Open the database that ``settings`` names, ready to use.

    Parameters
    ----------
    settings : Settings
        ``resolved_database_url`` names the database; ``blob_dir``, when set, holds image bytes.
    check : bool, default=True
        Refuse a database whose schema is missing or out of date (``SchemaError``). The default
        SQLite file in the data dir is the exception: when it is new and empty it is created.
        ``pixclass db`` commands pass False.
    recover : bool, default=True
        Mark the runs and jobs whose process died as failed (``runs.fail_interrupted_runs``,
        ``jobs.fail_interrupted_jobs``): a server or worker killed with SIGKILL leaves them
        "running", and every process that opens the store after it sets that right.

    Raises
    ------
    SchemaError
        The schema is missing or from another version; the message says to run
        ``pixclass db upgrade``.
    DatabaseUnavailableError
        The database cannot be reached.
    """
    default_file = default_sqlite_path(settings)
    if default_file is not None:
        default_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.resolved_database_url)
    blob_dir = Path(settings.blob_dir).expanduser() if settings.blob_dir else None
    store = Store(engine, blob_dir=blob_dir)
    try:
        if check:
            check_schema(engine, create_if_empty=default_file is not None)
        if check and recover:
            fail_interrupted_runs(store)
            fail_interrupted_jobs(store)
    except BaseException:
        store.close()
        raise
    return store
