"""Where a notification may connect: never link-local or cloud-metadata addresses, loopback and
private ones only when ``notify_allow_private`` is set, decided on the addresses a host name
resolves to; a test send reports a status and a short reason, never what the receiver said."""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_receivers import SmtpServer, start_smtp
from pytest_httpserver import HTTPServer

from pixclass.config import Settings
from pixclass.notify import Notifier, RunFinished, Secrets, parse_target
from pixclass.notify.addresses import refusal
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "address-token-91ab"
BODY_CANARY = "RECEIVER-BODY-7f3c1d"


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.0.1", "fe80::1", "::ffff:169.254.169.254", "fd00:ec2::254",
     "100.100.100.200", "168.63.129.16"],
)  # fmt: skip
def test_link_local_and_metadata_addresses_are_refused_always(address: str) -> None:
    parsed = ipaddress.ip_address(address)
    assert refusal(parsed, allow_private=True) is not None
    assert refusal(parsed, allow_private=False) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "::1", "fc00::5"])
def test_private_addresses_need_the_setting(address: str) -> None:
    parsed = ipaddress.ip_address(address)
    reason = refusal(parsed, allow_private=False)
    assert reason is not None and "notify_allow_private" in reason
    assert refusal(parsed, allow_private=True) is None


def test_public_addresses_are_allowed() -> None:
    assert refusal(ipaddress.ip_address("93.184.216.34"), allow_private=False) is None


@pytest.mark.parametrize(
    "url", ["json://169.254.169.254/latest/meta-data", "json://[fe80::1]:8080/hook"]
)
def test_a_send_to_a_link_local_address_fails_for_good_without_connecting(url: str) -> None:
    notifier = Notifier([parse_target(url)], allow_private=True, retries=3, backoff=5)
    [result] = notifier.send(RunFinished("b", 1, []))
    assert not result.ok and not result.retryable
    assert result.attempts == 1  # permanent: not retried (a retry would have waited 5 s)
    assert "link-local" in (result.error or "") or "metadata" in (result.error or "")


def test_a_host_name_is_judged_by_the_addresses_it_resolves_to(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    target = parse_target(f"json://localhost:{httpserver.port}/hook")

    [refused] = Notifier([target]).send(RunFinished("b", 1, []))
    assert not refused.ok and not refused.retryable
    assert "localhost" in (refused.error or "") and "loopback" in (refused.error or "")
    assert httpserver.log == []  # nothing reached the receiver

    [allowed] = Notifier([target], allow_private=True).send(RunFinished("b", 1, []))
    assert allowed.ok, allowed.error
    assert len(httpserver.log) == 1


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from start_smtp(accept_login=True)


def test_mail_to_a_loopback_server_needs_the_setting(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXCLASS_SECRET_MAIL", "pw")
    url = (
        f"mailto://ana:{{secret:mail}}@127.0.0.1:{smtp_server.port}"
        "?from=ana@example.com&to=bo@example.com&mode=insecure"
    )
    secrets = Secrets.load(Settings(config_file=None))
    [refused] = Notifier([parse_target(url)], secrets=secrets).send(RunFinished("b", 1, []))
    assert not refused.ok and "loopback" in (refused.error or "")
    assert smtp_server.messages == []
    notifier = Notifier([parse_target(url)], secrets=secrets, allow_private=True)
    [sent] = notifier.send(RunFinished("b", 1, []))
    assert sent.ok, sent.error
    assert len(smtp_server.messages) == 1


def test_a_test_send_reports_status_not_the_receivers_body(
    httpserver: HTTPServer, database_url: str, tmp_path: Path
) -> None:
    httpserver.expect_request("/hook").respond_with_data(BODY_CANARY, status=500)
    from pixclass.web import create_app

    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url, app_token=TOKEN,
        queue_url="immediate", notify_allow_private=True,
    )  # fmt: skip
    engine = create_store_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings), headers=headers) as api:
        cid = api.post("/api/collections", json={"name": "c"}).json()["id"]
        for url in (f"json://127.0.0.1:{httpserver.port}/hook", "json://169.254.169.254/x"):
            added = api.post(f"/api/collections/{cid}/notifications", json={"url": url})
            assert added.status_code == 200, added.text
        answer = api.post(f"/api/collections/{cid}/notifications/test")
        assert answer.status_code == 200
        local, metadata = answer.json()
        sends = api.get(f"/api/collections/{cid}/notifications/sends").text
    assert not local["ok"] and "500" in local["error"]
    assert not metadata["ok"] and "169.254.169.254" in metadata["error"]
    assert BODY_CANARY not in answer.text and BODY_CANARY not in sends
    assert len(httpserver.log) == 2  # one try and one retry reached it; the metadata address none


def test_the_cli_test_command_follows_the_setting(httpserver: HTTPServer, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pixclass.cli.notify import notify

    httpserver.expect_request("/hook").respond_with_data("ok")
    url = f"json://127.0.0.1:{httpserver.port}/hook"
    runner = CliRunner(env={"COLUMNS": "240"})
    strict = Settings(data_dir=tmp_path, config_file=None)
    refused = runner.invoke(notify, ["test", url], obj={"settings": strict})
    assert refused.exit_code == 1 and "loopback" in refused.output
    assert httpserver.log == []
    open_ = Settings(data_dir=tmp_path, config_file=None, notify_allow_private=True)
    done = runner.invoke(notify, ["test", url], obj={"settings": open_})
    assert done.exit_code == 0, done.output
