"""Fixtures for the job tests: settings on a fresh data dir, a collection clustered once, and
real receivers on loopback (SMTP here; HTTP is pytest-httpserver's ``httpserver``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_samples import BASE_URL, copy_database, write_digits
from loopback_receivers import SmtpServer, start_smtp

from pixclass.config import Settings
from pixclass.services.cluster import run_collection_clustering
from pixclass.services.ingest import ingest
from pixclass.store import open_store

TEMPLATE_IMAGES = 200


@pytest.fixture(autouse=True)
def _mnist(mnist_dir: Path) -> None:
    """Every job test works on MNIST digits (skipped with the reason when they are missing)."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Jobs run inside ``submit_job``; no configured notification targets; notifications may go
    to the loopback receivers of the tests."""
    return Settings(
        data_dir=tmp_path / "data",
        queue_url="immediate",
        base_url=BASE_URL,
        notify_allow_private=True,
    )


@pytest.fixture(scope="session")
def clustered_template(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Settings:
    """200 labeled digits in collection "digits", clustered once (run 1)."""
    root = tmp_path_factory.mktemp("template")
    template = Settings(data_dir=root / "data", queue_url="immediate", base_url=BASE_URL)
    write_digits(root / "digits", 0, TEMPLATE_IMAGES, labeled=True)
    with open_store(template) as store:
        ingest(store, root / "digits", "digits")
        run_collection_clustering(store, "digits", n_clusters="auto", seed=0, map_2d=False)
    return template


@pytest.fixture
def clustered(settings: Settings, clustered_template: Settings) -> Settings:
    """``settings`` whose database holds a copy of the clustered template."""
    copy_database(clustered_template, settings)
    return settings


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Accepts any login and keeps every message."""
    yield from start_smtp(accept_login=True)


@pytest.fixture
def outlook_like_smtp() -> Iterator[SmtpServer]:
    """Refuses every login the way Outlook/Exchange Online does (535 5.7.139)."""
    yield from start_smtp(accept_login=False)
