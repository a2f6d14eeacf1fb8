"""Canaries: every secret-looking value tried in a target URL — a password, a ``+Header`` value,
a token, key or password argument, a payload field — is nowhere to be found afterwards: not in
the database file, the logs, the CLI's output, the web pages or the API's answers. Tried every
way a URL gets in (the CLI, the API, the web form, the global setting, a placeholder's value),
and sent to a receiver that is down, one that answers 500 repeating the secret it got, and one
that accepts."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pixclass.cli.notify import notify
from pixclass.config import Settings
from pixclass.notify import RunFailed
from pixclass.services.targets import send_event
from pixclass.store import create_collection, open_store
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "canary-app-token-4e1b"
CANARIES = [f"CANARY{i}x{kind}Q7" for i, kind in enumerate("abcdefgh")]


def inline_urls(port: int) -> list[str]:
    """Target URLs each holding one canary written out."""
    base = f"127.0.0.1:{port}"
    c = CANARIES
    return [
        f"json://ana:{c[0]}@{base}/hook",
        f"json://{base}/hook?+X-Token={c[1]}",
        f"json://{base}/hook?+Authorization=Bearer%20{c[2]}",
        f"form://{base}/hook?:api_key={c[3]}",
        f"xml://{base}/hook?-password={c[4]}",
        f"json://{base}/hook?-token={c[5]}",
    ]


def echo_secret(request: Request) -> Response:
    """A hostile receiver: answers 500 and repeats every header it got."""
    return Response(" ".join(f"{k}={v}" for k, v in request.headers.items()), status=500)


def test_no_canary_anywhere(
    httpserver: HTTPServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)  # every log line, Apprise's debug ones included
    httpserver.expect_request("/hook").respond_with_handler(echo_secret)
    port = httpserver.port
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data, app_token=TOKEN, queue_url="immediate", notify_allow_private=True,
        config_file=None,
    )  # fmt: skip
    data.mkdir()
    engine = create_store_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    with open_store(settings) as store:
        create_collection(store, "birds")
    seen: list[str] = []  # every text a person or a client could read

    # 1. Written out in a collection's target: refused by the CLI, the API and the web form.
    runner = CliRunner(env={"COLUMNS": "240"})
    for url in inline_urls(port):
        added = runner.invoke(notify, ["add", url, "-c", "birds"], obj={"settings": settings})
        assert added.exit_code != 0
        seen.append(added.output)
    from pixclass.web import create_app

    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings), headers=headers) as api:
        for url in inline_urls(port):
            answer = api.post("/api/collections/1/notifications", json={"url": url})
            assert answer.status_code == 400
            seen.append(answer.text)

    # 2. As placeholders (values in the environment) and in the global setting (inline there):
    # sent to the hostile receiver, which repeats them, and recorded.
    for i, canary in enumerate(CANARIES[6:]):
        monkeypatch.setenv(f"PIXCLASS_SECRET_CANARY{i}", canary)
    placeholder_urls = [
        f"json://127.0.0.1:{port}/hook?+X-Token={{secret:canary0}}",
        f"json://ana:{{secret:canary1}}@127.0.0.1:{port}/hook",
    ]
    global_settings = replace(settings, notify_urls=tuple(inline_urls(port)))
    with TestClient(create_app(global_settings), headers=headers) as api:
        for url in placeholder_urls:
            answer = api.post("/api/collections/1/notifications", json={"url": url})
            assert answer.status_code == 200, answer.text
            seen.append(answer.text)
        seen.append(api.post("/api/collections/1/notifications/test").text)
        with open_store(global_settings) as store:
            results = send_event(
                global_settings, store, RunFailed("birds", 1, "boom"), collection="birds"
            )
        assert len(results) == 8 and not any(r.ok for r in results)
        assert len(httpserver.log) > 8  # the receiver got the secrets, and repeated them
        for path in ("/api/collections/1/notifications", "/api/collections/1/notifications/sends"):
            seen.append(api.get(path).text)
        page = api.get("/collections/1/notifications")
        assert page.status_code == 200 and "retrying" in page.text
        seen.append(page.text)
        for path in ("/openapi.json", "/api/collections", "/api/jobs"):
            seen.append(api.get(path).text)
    for args in (["targets", "-c", "birds"], ["log", "-n", "100"], ["resend"]):
        done = runner.invoke(notify, args, obj={"settings": global_settings})
        seen.append(done.output)
    assert "retrying" in seen[-2]  # the log lists the failed sends...

    # 3. Look everywhere.
    # The receiver's own request log (werkzeug, in this process) is the receiver's business.
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    seen += [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in ours]
    database = b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith("pixclass.db"))
    found = [c for c in CANARIES for text in seen if c in text]
    found += [c for c in CANARIES if c.encode() in database]
    assert found == [], f"{len(found)} canaries found: {sorted(set(found))}"
    assert re.search(r"\*\*\*\*", "".join(seen))  # ...and the secrets show masked
