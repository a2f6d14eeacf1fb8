"""Failing targets: results recorded for every send, retries bounded, the others delivered."""

from __future__ import annotations

import socket

import pytest
from notify_receivers import free_port
from pytest_httpserver import HTTPServer

from pixclass.notify import Notifier, RunFinished, SendResult, Target, parse_target
from pixclass.notify.failures import describe_failure


def hits(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


def test_twenty_sends_with_one_target_failing(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/").respond_with_data("ok")  # ntfy posts to the host root
    httpserver.expect_request("/broken").respond_with_data("database is down", status=500)
    base = f"127.0.0.1:{httpserver.port}"
    targets = [
        parse_target(f"json://{base}/ok"),
        parse_target(f"ntfy://{base}/alerts"),
        parse_target(f"json://{base}/broken"),
        parse_target(f"json://127.0.0.1:{free_port()}/closed"),  # nothing listens there
    ]
    recorded: list[SendResult] = []
    notifier = Notifier(
        targets, retries=2, backoff=0.001, on_result=recorded.append, allow_private=True
    )

    for run in range(20):
        notifier.send(RunFinished("birds", run, [("crow", run + 1)]))

    assert len(recorded) == 20 * len(targets)
    by_target: dict[str, list[SendResult]] = {}
    for result in recorded:
        by_target.setdefault(result.target.split("?")[0], []).append(result)
    assert all(r.ok and r.attempts == 1 for r in by_target[f"json://{base}/ok"])
    assert all(r.ok for r in by_target[f"ntfy://{base}/alerts"])
    broken = by_target[f"json://{base}/broken"]
    assert all(not r.ok and r.attempts == 3 for r in broken)
    assert "error=500" in (broken[0].error or "")
    assert "the server said: database is down" in (broken[0].error or "")
    closed = [r for t, rs in by_target.items() if t.endswith("/closed") for r in rs]
    assert len(closed) == 20 and all(not r.ok and r.attempts == 3 for r in closed)
    assert "Connection refused" in (closed[0].error or "")
    assert hits(httpserver, "/ok") == 20
    assert hits(httpserver, "/") == 20
    assert hits(httpserver, "/broken") == 20 * 3  # one try and two retries, no more


@pytest.mark.parametrize(("status", "tries"), [(404, 1), (401, 1), (429, 3), (503, 3)])
def test_http_4xx_is_permanent_except_429(httpserver: HTTPServer, status: int, tries: int) -> None:
    httpserver.expect_request("/hook").respond_with_data("nope", status=status)
    target = parse_target(f"json://127.0.0.1:{httpserver.port}/hook")

    [result] = Notifier([target], retries=2, backoff=0.001, allow_private=True).send(
        RunFinished("b", 1, [])
    )

    assert not result.ok
    assert result.attempts == tries
    assert hits(httpserver, "/hook") == tries


def test_a_slow_target_does_not_hold_the_others(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/fast").respond_with_data("ok")
    with socket.socket() as black_hole:  # accepts connections, never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)
        slow_port = black_hole.getsockname()[1]
        targets = [
            parse_target(f"json://127.0.0.1:{slow_port}/slow?rto=0.5"),
            parse_target(f"json://127.0.0.1:{httpserver.port}/fast"),
        ]
        arrivals: list[str] = []

        def on_result(result: SendResult) -> None:
            arrivals.append(result.target.split("?")[0].rsplit("/", 1)[1])

        notifier = Notifier(targets, retries=0, on_result=on_result, allow_private=True)
        results = notifier.send(RunFinished("b", 1, []))

    assert arrivals == ["fast", "slow"]
    assert [r.target.split("?")[0][-4:] for r in results] == ["slow", "fast"]  # target order
    assert [r.ok for r in results] == [False, True]
    assert "timed out" in (results[0].error or "")


def test_a_missing_secret_is_a_result_not_an_exception() -> None:
    target = Target("json://127.0.0.1:9/hook?:token={secret:nowhere}")

    [result] = Notifier([target], allow_private=True).send(RunFinished("b", 1, []))

    assert not result.ok and result.attempts == 0
    assert "PIXCLASS_SECRET_NOWHERE" in (result.error or "")


def test_a_failing_result_hook_does_not_stop_sending(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    target = parse_target(f"json://127.0.0.1:{httpserver.port}/hook")

    def explode(result: SendResult) -> None:
        raise RuntimeError("the store is down")

    [result] = Notifier([target], on_result=explode, allow_private=True).send(
        RunFinished("b", 1, [])
    )

    assert result.ok


def test_describe_failure_reads_the_server_reply() -> None:
    smtp = describe_failure(
        [
            (30, 'Connection error while submitting email to "smtp.office365.com"'),
            (10, "Socket Exception: (535, b'5.7.139 Authentication unsuccessful, basic auth')"),
        ]
    )
    assert smtp.text == "535 5.7.139 Authentication unsuccessful, basic auth"
    assert smtp.permanent
    greylisted = describe_failure([(30, "SMTP recipient a@b.c was refused: 451 4.7.1 Try later")])
    assert greylisted.text == "451 4.7.1 Try later" and not greylisted.permanent
    unknown = describe_failure([])
    assert not unknown.permanent
