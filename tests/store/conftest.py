"""Fixtures for the store tests: every test that takes ``store`` runs on SQLite and PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (database ``test``, or ``$PIXCLASS_TEST_POSTGRES_URL``);
each test gets its own freshly created schema, dropped at the end. When the server cannot be
reached the PostgreSQL half is skipped with the reason, except when ``$CI`` is set: then it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from store_samples import MNIST_DIR

from pixclass.config import Settings
from pixclass.store import Store, open_store
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "PIXCLASS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_admin() -> sa.Engine:
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure to connect means: no server to test against
        engine.dispose()
        reason = f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(exc).splitlines()[0]}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set, so this is a failure)")
        pytest.skip(reason)
    return engine


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin = _postgres_admin()
    schema = f"pixclass_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    # Every connection of the test starts with the schema first on its search path.
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings naming the test database, with the data dir in ``tmp_path``."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """An up-to-date store on the test database."""
    engine = create_store_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    with open_store(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def mnist_available() -> None:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the shared MNIST copy is not at {MNIST_DIR}")


@pytest.fixture(scope="session")
def cli() -> Any:
    """The top-level click group, or a skip while a sibling command module is still missing."""
    try:
        from pixclass.cli import cli as group
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("pixclass.cli."):
            pytest.skip(f"the CLI cannot start yet: {exc}")
        raise
    return group
