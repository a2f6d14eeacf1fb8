"""Notifications of jobs to a real HTTP receiver: json://, form:// and ntfy://, global and
per-collection targets, event tags, and the record of every send; the notify CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from jobs_samples import BASE_URL, write_digits
from pytest_httpserver import HTTPServer
from werkzeug import Request

from pixclass.cli.notify import notify
from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.jobs import get_job, submit_job
from pixclass.services.ingest import ingest
from pixclass.services.targets import (
    add_collection_target,
    collection_targets,
    remove_collection_target,
)
from pixclass.store import create_collection, list_sends, open_store


@pytest.fixture
def receiver(httpserver: HTTPServer) -> HTTPServer:
    for path in ("/hook", "/form", "/", "/failures"):
        httpserver.expect_request(path, method="POST").respond_with_data("ok")
    return httpserver


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in server.log if request.path == path]


def test_a_classify_job_notifies_json_form_and_ntfy(
    clustered: Settings, receiver: HTTPServer
) -> None:
    base = f"127.0.0.1:{receiver.port}"
    settings = replace(clustered, notify_urls=(f"json://{base}/hook",))  # a global target
    with open_store(settings) as store:  # and two of the collection's own
        add_collection_target(store, settings, "digits", f"form://{base}/form")
        add_collection_target(store, settings, "digits", f"ntfy://{base}/pixclass-digits")
    write_digits(settings.data_dir / "uploads" / "new", 1000, 25)

    job_id = submit_job(
        settings, "classify", "digits", {"source": "uploads/new", "review_percent": 100}
    )

    with open_store(settings) as store:
        job = get_job(store, job_id)
        sends = list_sends(store, "digits")
    assert job.state == "done", job.error
    assert job.result["classified"] == 25
    counts = job.result["counts"]
    assert sum(counts.values()) == 25
    # The product lists classes largest first, ties by name (notify.format.compact_sizes).
    largest = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    title = "pixclass: 25 images classified in digits"

    [hook] = requests_to(receiver, "/hook")
    payload = json.loads(hook.get_data())
    assert payload["title"] == title
    message = payload["message"]
    assert message.startswith('25 new images classified in "digits".')
    assert f"Per class: {largest[0]} {largest[1]}" in message
    assert f"Open: {BASE_URL}/runs/1" in message
    assert message.endswith("(pixclass event: images-classified)")

    [form] = requests_to(receiver, "/form")
    assert form.form["title"] == title
    assert form.form["message"] == message

    [ntfy] = requests_to(receiver, "/")
    post = json.loads(ntfy.get_data())
    assert (post["topic"], post["title"], post["message"]) == ("pixclass-digits", title, message)

    assert len(sends) == 3 and all(s.ok for s in sends)
    assert {s.target.split(":")[0] for s in sends} == {"json", "form", "ntfy"}
    assert {(s.event_type, s.job_id, s.run_id) for s in sends} == {("images-classified", job_id, 1)}


def test_tags_pick_events_and_a_failed_run_is_reported(
    settings: Settings, receiver: HTTPServer
) -> None:
    base = f"127.0.0.1:{receiver.port}"
    write_digits(settings.data_dir / "one", 0, 1)
    with open_store(settings) as store:
        ingest(store, settings.data_dir / "one", "tiny")  # one image cannot be clustered
        add_collection_target(store, settings, "tiny", f"json://{base}/failures", ["run-failed"])
        add_collection_target(store, settings, "tiny", f"json://{base}/hook", ["run-finished"])

    job_id = submit_job(settings, "cluster", "tiny", {})

    with open_store(settings) as store:
        job = get_job(store, job_id)
        [send] = list_sends(store, "tiny")
    assert job.state == "failed"
    assert "holds 1 image(s); at least 2 are needed" in (job.error or "")
    assert requests_to(receiver, "/hook") == []
    [failure] = requests_to(receiver, "/failures")
    payload = json.loads(failure.get_data())
    run_id = job.result["run_id"]
    assert payload["title"] == f"pixclass: run {run_id} on tiny failed"
    assert "at least 2 are needed" in payload["message"]
    assert payload["type"] == "failure"
    assert (send.event_type, send.ok, send.run_id, send.job_id) == (
        "run-failed",
        True,
        run_id,
        job_id,
    )


def test_collection_targets_keep_placeholders_and_refuse_written_secrets(
    settings: Settings,
) -> None:
    with open_store(settings) as store:
        create_collection(store, "birds")
        with pytest.raises(InputError, match="placeholder"):
            add_collection_target(
                store, settings, "birds", "mailtos://ana:hunter22@gmail.com?to=b@example.com"
            )
        url = "mailtos://ana:{secret:gmail}@gmail.com?to=b@example.com"
        add_collection_target(store, settings, "birds", url, ["run-failed"])
        add_collection_target(store, settings, "birds", "ntfy://pixclass-birds-7fq2x")
        add_collection_target(store, settings, "birds", url, ["run-finished"])  # new tags
        targets = collection_targets(store, "birds")
        assert [(t.url, sorted(t.tags)) for t in targets] == [
            ("ntfy://pixclass-birds-7fq2x", []),
            (url, ["run-finished"]),
        ]
        removed = remove_collection_target(store, "birds", "1")
        assert removed.url == "ntfy://pixclass-birds-7fq2x"
        assert [t.url for t in collection_targets(store, "birds")] == [url]


def test_notify_cli_adds_lists_removes_and_logs(
    settings: Settings, receiver: HTTPServer, tmp_path: Path
) -> None:
    hook = f"json://127.0.0.1:{receiver.port}/hook"
    with open_store(settings) as store:
        create_collection(store, "birds")

    def run(*args: str) -> str:
        result = CliRunner(env={"COLUMNS": "200"}).invoke(
            notify, list(args), obj={"settings": settings}, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.output

    assert "gets run-failed" in run("add", hook, "-c", "birds", "--tag", "run-failed")
    listed = run("targets", "--collection", "birds")
    assert f"127.0.0.1:{receiver.port}/hook" in listed and "collection birds" in listed
    assert "run-failed" in listed
    assert "No notifications sent yet" in run("log")
    with open_store(settings) as store:
        from pixclass.notify import RunFailed
        from pixclass.services.targets import send_event

        send_event(settings, store, RunFailed("birds", 3, "boom"), collection="birds", run_id=3)
    logged = run("log", "--collection", "birds")
    assert "run-failed" in logged and "ok" in logged and "run 3" in logged
    assert "removed" in run("remove", "1", "--collection", "birds")
    assert "collection birds" not in run("targets", "--collection", "birds")
