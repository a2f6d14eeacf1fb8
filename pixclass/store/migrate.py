"""Numbered, forward-only schema migrations (Alembic), run from Python: no alembic.ini needed.

``pixclass db upgrade`` applies them. Everything else refuses to work on a database whose schema
is missing or older than this version of pixclass (``SchemaError``), with one exception: the
default SQLite file in the data dir is created on first use, so that a user's first
``pixclass ingest`` just works. A database that someone configured explicitly (a URL) is never
changed without ``pixclass db upgrade``: it may be shared, and an upgrade there is a decision.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import OperationalError

from pixclass.errors import SchemaError
from pixclass.store.db import describe_connection_error

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
UPGRADE_HINT = "run `pixclass db upgrade`"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision this version of pixclass knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


@cache
def known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it has no pixclass schema."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise describe_connection_error(_display(engine), exc) from exc


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply the migrations up to ``revision``; returns the revisions before and after.

    Runs in one transaction on both databases (their DDL is transactional), so a failure or a
    kill leaves the schema as it was.
    """
    before = current_revision(engine)
    _check_known(engine, before)
    locked = engine.execution_options(sqlite_begin="IMMEDIATE")
    with locked.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    return before, current_revision(engine)


def check_schema(engine: Engine, *, create_if_empty: bool = False) -> None:
    """Make sure the schema is the one this pixclass needs.

    Parameters
    ----------
    engine : Engine
    create_if_empty : bool, default=False
        Create the schema when the database holds no tables at all (the default SQLite file).

    Raises
    ------
    SchemaError
        The schema is missing, older, or newer than this version; the message says what to do.
    """
    revision = current_revision(engine)
    if revision == head_revision():
        return
    if revision is None and create_if_empty and _is_empty(engine):
        upgrade(engine)
        return
    where = _display(engine)
    if revision is None:
        raise SchemaError(f"the database {where} has no pixclass tables yet; {UPGRADE_HINT}")
    _check_known(engine, revision)
    raise SchemaError(
        f"the database {where} is at schema revision {revision}, this pixclass needs "
        f"{head_revision()}; {UPGRADE_HINT} (back up the database first)"
    )


def _check_known(engine: Engine, revision: str | None) -> None:
    if revision is not None and revision not in known_revisions():
        raise SchemaError(
            f"the database {_display(engine)} is at schema revision {revision}, which this "
            "pixclass does not know: it was upgraded by a newer pixclass; upgrade pixclass"
        )


def _is_empty(engine: Engine) -> bool:
    try:
        return not inspect(engine).get_table_names()
    except OperationalError as exc:
        raise describe_connection_error(_display(engine), exc) from exc


def _display(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
