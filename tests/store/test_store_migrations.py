"""The schema: migrations build exactly the models, and out-of-date databases are refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pixclass.config import Settings
from pixclass.errors import SchemaError
from pixclass.store import Store, current_revision, head_revision, open_store, upgrade
from pixclass.store.db import create_store_engine
from pixclass.store.schema import Base


def test_upgrade_creates_the_models_exactly(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        before, after = upgrade(engine)
        assert (before, after) == (None, head_revision())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        # A second upgrade is a no-op.
        assert upgrade(engine) == (head_revision(), head_revision())
    finally:
        engine.dispose()


def test_missing_schema_is_refused_with_the_fix(settings: Settings) -> None:
    with pytest.raises(SchemaError, match=r"run `pixclass db upgrade`"):
        open_store(settings)


def test_old_or_unknown_revision_is_refused(store: Store, settings: Settings) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(SchemaError, match="newer pixclass"):
        open_store(settings)


def test_default_sqlite_file_is_created_on_first_use(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "fresh" / "data")
    with open_store(settings) as store:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}
    assert (tmp_path / "fresh" / "data" / "pixclass.db").is_file()


def test_explicit_sqlite_url_is_not_created_silently(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'mine.db'}")
    with pytest.raises(SchemaError, match="no pixclass tables"):
        open_store(settings)
    engine = create_store_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    with open_store(replace(settings)) as store:
        assert current_revision(store.engine) == head_revision()
