"""schemathesis over the whole OpenAPI of the app, on SQLite and PostgreSQL: no request it can
make — valid or not, on ids that exist and ids that do not — is a server error.

Every operation gets ``EXAMPLES`` generated requests with random values and as many with the
path ids of a real collection, run, image, job, target and send, so that the deeper code runs
too; in all about 1,300 requests per database (``PIXCLASS_FUZZ_EXAMPLES`` per operation and
kind, default 20). Generation is derandomized (the same requests
each run). Jobs are queued and never run (no worker), so no case starts a clustering.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from PIL import Image

from pixclass.config import Settings
from pixclass.services.cluster import run_collection_clustering
from pixclass.services.ingest import ingest
from pixclass.services.targets import add_collection_target
from pixclass.store import open_store, record_send
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis import GenerationMode

TOKEN = "fuzz-token-0c4e2b"
EXAMPLES = int(os.environ.get("PIXCLASS_FUZZ_EXAMPLES", "20"))
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# The ids of the objects the fixture makes (each the first of its kind in a fresh database).
KNOWN_IDS = {
    "collection_id": 1,
    "run_id": 1,
    "index": 0,
    "image_id": 1,
    "job_id": 1,
    "number": 1,
    "send_id": 1,
}

# Generous: on a loaded machine a case takes ten times as long as on an idle one.
pytestmark = pytest.mark.timeout(900)


@dataclass
class Tally:
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    by_status: dict[int, int] = field(default_factory=dict)


def make_data(settings: Settings, folder: Path) -> None:
    """A collection of 24 small images, one finished run, a queued job, a target and a send."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        pixels = rng.integers(0, 256, (12, 12), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img-{i:02d}.png")
    with open_store(settings) as store:
        ingest(store, folder, "fuzz")
        run_collection_clustering(store, "fuzz", features="pixels", n_clusters=3, map_2d=False)
        add_collection_target(store, settings, "fuzz", "json://hooks.example.invalid/x")
        record_send(
            store,
            {
                "target": "json://hooks.example.invalid/x", "event_type": "run-failed",
                "ok": False, "error": "down", "attempts": 1, "sent_at": datetime.now(UTC),
                "duration": 0.1, "status": "failed",
            },
            collection="fuzz",
        )  # fmt: skip


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    from pixclass.jobs.api import submit_job
    from pixclass.web import create_app

    app_settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url, app_token=TOKEN,
        queue_url="sqlite", upload_max_mb=4, upload_file_max_mb=1,
    )  # fmt: skip
    engine = create_store_engine(app_settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    make_data(app_settings, tmp_path / "images")
    submit_job(app_settings, "cluster", "fuzz", {"features": "pixels"})  # queued: job 1
    yield create_app(app_settings)


def fuzz_operation(operation: Any, tally: Tally, known: bool) -> None:
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in KNOWN_IDS.items() if k in names} if known else None
    if known and (not fixed or operation.method.upper() == "DELETE"):
        return  # nothing to pin, or it would delete the objects the other cases use
    strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
    strategy |= operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck), phases=[Phase.generate],
    )  # fmt: skip
    def one(case: Any) -> None:
        response = case.call(headers=AUTH)
        tally.cases += 1
        tally.by_status[response.status_code] = tally.by_status.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            tally.server_errors.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]} (case: {case.as_curl_command()[:500]})"
            )

    one()


def test_no_request_is_a_server_error(app: Any, capsys: pytest.CaptureFixture[str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30  # the whole API, not an empty schema
    tally = Tally()
    for operation in operations:
        for known in (True, False):
            fuzz_operation(operation, tally, known)
    with capsys.disabled():
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(tally.by_status.items()))
        print(f"\nschemathesis: {len(operations)} operations, {tally.cases} cases ({statuses})")
    assert tally.cases >= 25 * EXAMPLES
    assert tally.server_errors == []
