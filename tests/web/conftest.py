"""The web app on a real SQLite file: one clustered collection of 200 MNIST digits, made once per
session and copied for each test, served through a real in-process HTTP client."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_kit import big_run, chrome  # noqa: F401  (session fixtures of the browser tests)
from web_samples import MNIST_DIR, N_DIGITS, TOKEN, csrf_of, make_settings, write_digits

from pixclass.config import Settings
from pixclass.services.cluster import run_collection_clustering
from pixclass.services.ingest import ingest
from pixclass.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's note that its TestClient wants httpx2
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"the shared MNIST copy is not at {MNIST_DIR}")
    folder = tmp_path_factory.mktemp("digits")
    write_digits(folder, N_DIGITS)
    return folder


@pytest.fixture(scope="session")
def clustered(tmp_path_factory: pytest.TempPathFactory, digits_dir: Path) -> Path:
    """A data dir holding collection "digits" (200 images) and its finished run 1."""
    data = tmp_path_factory.mktemp("clustered") / "data"
    with open_store(Settings(data_dir=data)) as store:
        ingest(store, digits_dir, "digits")
        run_collection_clustering(store, "digits", seed=0, n_clusters=8)
    return data


@pytest.fixture
def data_dir(clustered: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(clustered, target)
    return target


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture
def anonymous(settings: Settings) -> Iterator[TestClient]:
    """A client that has not logged in."""
    from pixclass.web import create_app

    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """A client sending the token as ``Authorization: Bearer``."""
    from pixclass.web import create_app

    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest.fixture
def browser(anonymous: TestClient) -> TestClient:
    """A client logged in through the login form; ``browser.csrf`` is its session's token."""
    response = anonymous.post("/login", data={"token": TOKEN, "next": "/"})
    assert response.status_code == 200
    anonymous.csrf = csrf_of(response.text)
    return anonymous
