"""Alembic environment for pixclass: runs on the connection that ``pixclass.store.migrate`` passes.

pixclass runs migrations programmatically (``pixclass db upgrade``), so there is no alembic.ini;
``config.attributes["connection"]`` carries an open connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from pixclass.store.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # The alembic command line (for developers: ``alembic revision --autogenerate``).
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("set sqlalchemy.url, or run migrations through pixclass")
        with create_engine(url).connect() as conn:
            _run(conn)
            conn.commit()
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("pixclass migrations run online only")
run_migrations()
