"""A notification whose receiver is down is tried again from its record once the receiver is
up — by this process, by a worker started afterwards (a restart), by ``pixclass notify resend``
and by the app's Resend button — and after ``notify_retry_seconds`` it is failed for good. The
receiver is a real HTTP server on loopback that is down (nothing listens on its port), then up.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from loopback_receivers import free_port
from pytest_httpserver import HTTPServer

from pixclass.cli.notify import notify
from pixclass.config import Settings
from pixclass.notify import RunFailed
from pixclass.services.retries import resend, retry_due
from pixclass.services.targets import add_collection_target, list_sends, send_event
from pixclass.store import Store, create_collection, open_store
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
TOKEN = "retry-token-6d1e"
# Seconds a worker started for the test gets to make a retry that is due at once.
WORKER_LIMIT = 40

pytestmark = pytest.mark.timeout(120)


class Receiver:
    """A JSON webhook receiver on a fixed loopback port, started and stopped at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"json://127.0.0.1:{self.port}/hook"
        self.bodies: list[dict[str, str]] = []
        self._server: HTTPServer | None = None

    def up(self) -> None:
        server = HTTPServer(host="127.0.0.1", port=self.port)

        def record(request):  # type: ignore[no-untyped-def]
            from werkzeug import Response

            self.bodies.append(json.loads(request.get_data()))
            return Response("ok")

        server.expect_request("/hook", method="POST").respond_with_handler(record)
        server.start()
        self._server = server

    def down(self) -> None:
        if self._server is not None:
            self._server.clear()
            self._server.stop()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.down()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    made = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        queue_url="sqlite",
        app_token=TOKEN,
        notify_allow_private=True,  # the receiver is on loopback
        notify_retry_seconds=600,
        notify_retry_backoff_seconds=1,
    )
    engine = create_store_engine(made.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    return made


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with open_store(settings) as opened:
        yield opened


def fail_once(settings: Settings, store: Store, receiver: Receiver) -> int:
    """Send a run-failed message while the receiver is down; the id of its record."""
    create_collection(store, "birds")
    add_collection_target(store, settings, "birds", receiver.url)
    [result] = send_event(
        settings, store, RunFailed("birds", 7, "out of memory"), collection="birds", retries=0
    )
    assert not result.ok and result.retryable, result.error
    [record] = list_sends(store, "birds")
    assert record.status == "retrying" and record.next_attempt_at is not None
    return record.id


def test_a_failed_send_is_retried_once_its_receiver_is_up(
    settings: Settings, store: Store, receiver: Receiver
) -> None:
    fail_once(settings, store, receiver)
    [record] = list_sends(store, "birds")
    assert record.next_attempt_at is not None
    early = record.next_attempt_at - timedelta(milliseconds=500)
    assert retry_due(settings, store, now=early) == []  # not due yet: nothing is sent

    receiver.up()
    [again] = retry_due(settings, store, now=record.next_attempt_at)

    assert again.ok, again.error
    [body] = receiver.bodies
    assert body["title"] == "pixclass: run 7 on birds failed"
    assert "out of memory" in body["message"]
    [record] = list_sends(store, "birds")
    assert (record.status, record.ok, record.attempts) == ("sent", True, 2)
    assert retry_due(settings, store, now=record.sent_at + timedelta(hours=1)) == []
    assert len(receiver.bodies) == 1  # sent once, never again


def test_the_waits_grow_and_the_send_fails_for_good_after_its_time(
    settings: Settings, store: Store, receiver: Receiver
) -> None:
    fail_once(settings, store, receiver)
    waits = []
    for _ in range(30):
        [record] = list_sends(store, "birds")
        if record.status != "retrying":
            break
        assert record.next_attempt_at is not None
        waits.append((record.next_attempt_at - record.sent_at).total_seconds())
        [result] = retry_due(settings, store, now=record.next_attempt_at)
        assert not result.ok
    [record] = list_sends(store, "birds")
    assert record.status == "failed" and not record.ok
    assert record.give_up_at is not None
    assert (record.give_up_at - record.sent_at).total_seconds() == pytest.approx(600, abs=1)
    assert waits == sorted(waits) and waits[1] >= 2 * waits[0] - 0.01  # the waits double
    assert retry_due(settings, store, now=record.give_up_at + timedelta(days=1)) == []

    receiver.up()  # a person asks for one more try: it goes out
    [result] = resend(settings, store, [record.id], collection="birds")
    assert result.ok, result.error
    assert [s.status for s in list_sends(store, "birds")] == ["sent"]
    assert len(receiver.bodies) == 1


def test_a_worker_started_later_makes_the_retry(
    settings: Settings, store: Store, receiver: Receiver
) -> None:
    # The send fails in this process; a worker process started afterwards (as after a
    # restart) finds the record and sends it.
    fail_once(settings, store, receiver)
    receiver.up()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PIXCLASS_DATABASE_URL": settings.database_url,
        "PIXCLASS_QUEUE_URL": "sqlite",
        "PIXCLASS_NOTIFY_ALLOW_PRIVATE": "true",
        "PIXCLASS_NOTIFY_RETRY_SECONDS": "600",
        "PIXCLASS_NOTIFY_RETRY_BACKOFF_SECONDS": "1",
    }
    command = [sys.executable, "-m", "pixclass", "--data-dir", str(settings.data_dir), "worker"]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + WORKER_LIMIT
        while not receiver.bodies and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=30)
    assert len(receiver.bodies) == 1, errors.decode()[-3000:]
    [record] = list_sends(store, "birds")
    assert record.status == "sent"


def test_notify_resend_and_the_resend_button(
    settings: Settings, store: Store, receiver: Receiver
) -> None:
    send_id = fail_once(settings, store, receiver)
    runner = CliRunner(env={"COLUMNS": "240"})
    log = runner.invoke(notify, ["log", "-c", "birds"], obj={"settings": settings})
    assert re.search(rf"│ {send_id} .*retrying", log.output), log.output
    done = runner.invoke(notify, ["resend", str(send_id)], obj={"settings": settings})
    assert done.exit_code == 1 and "failed" in done.output  # still down: says so, exits 1
    assert [s.status for s in list_sends(store, "birds")] == ["retrying"]

    receiver.up()
    from pixclass.web import create_app

    with TestClient(create_app(settings)) as browser:
        page = browser.post("/login", data={"token": TOKEN, "next": "/collections/1"})
        assert page.status_code == 200
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf is not None
        cid = browser.get("/api/collections", headers={"X-CSRF-Token": csrf[1]}).json()[0]["id"]
        page = browser.get(f"/collections/{cid}/notifications")
        button = f"/collections/{cid}/notifications/sends/{send_id}/resend"
        assert button in page.text
        answer = browser.post(button, headers={"X-CSRF-Token": csrf[1], "HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    assert "badge done" in answer.text and button not in answer.text
    assert len(receiver.bodies) == 1
    again = runner.invoke(notify, ["resend", str(send_id)], obj={"settings": settings})
    assert again.exit_code != 0 and "went out already" in again.output
