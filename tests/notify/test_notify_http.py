"""JSON, form and ntfy notifications to a real HTTP receiver on loopback."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

from pixclass.notify import (
    Event,
    ImagesClassified,
    Notifier,
    ReviewNeeded,
    RunFailed,
    RunFinished,
    parse_target,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16  # only passed through, never decoded here


@pytest.fixture
def receiver(httpserver: HTTPServer) -> HTTPServer:
    for path in ("/hook", "/form", "/", "/pixclass-alerts", "/notifyrun-channel"):
        httpserver.expect_request(path, method="POST").respond_with_data("ok")
    return httpserver


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [request for request, _ in server.log if request.path == path]


def test_json_webhook_gets_title_body_event_and_attachment(receiver: HTTPServer) -> None:
    target = parse_target(f"json://127.0.0.1:{receiver.port}/hook")
    event = RunFinished("birds", 12, [("crow", 5), ("owl", 2)], montage_png=PNG)

    [result] = Notifier([target], allow_private=True).send(event)

    assert result.ok, result.error
    [request] = requests_to(receiver, "/hook")
    payload = json.loads(request.get_data())
    assert payload["title"] == "pixclass: 2 classes found in birds"
    assert payload["message"].startswith('Run 12 on "birds" finished: 2 classes in 7 images.')
    assert payload["message"].endswith("(pixclass event: run-finished)")
    assert payload["type"] == "success"
    [attachment] = payload["attachments"]
    assert attachment["filename"] == "pixclass-run-12-montage.png"
    assert attachment["mimetype"] == "image/png"


def test_form_post_gets_fields_and_the_montage_as_a_file(receiver: HTTPServer) -> None:
    target = parse_target(f"form://127.0.0.1:{receiver.port}/form")
    event = RunFinished("birds", 3, [("crow", 5)], montage_png=PNG)

    [result] = Notifier([target], allow_private=True).send(event)

    assert result.ok, result.error
    [request] = requests_to(receiver, "/form")
    assert request.form["title"] == "pixclass: 1 class found in birds"
    assert "(pixclass event: run-finished)" in request.form["message"]
    [upload] = request.files.values()
    assert upload.filename == "pixclass-run-3-montage.png"
    assert upload.read() == PNG


def test_notify_run_style_form_gets_a_plain_form_body(receiver: HTTPServer) -> None:
    # notify.run reads the raw body as a query string and shows its "message" field, so a
    # target on notify.run gets no attachment (a multipart upload would arrive as noise).
    url = f"form://127.0.0.1:{receiver.port}/notifyrun-channel"
    target = parse_target(url, attach=False)
    assert not parse_target("forms://notify.run/AbCdEf123").attach

    [result] = Notifier([target], allow_private=True).send(
        RunFinished("birds", 3, [("crow", 5)], montage_png=PNG)
    )

    assert result.ok, result.error
    [request] = requests_to(receiver, "/notifyrun-channel")
    assert request.content_type == "application/x-www-form-urlencoded"
    fields = parse_qs(request.get_data(as_text=True))
    assert fields["message"][0].startswith('Run 3 on "birds" finished')


def test_ntfy_on_a_private_host_gets_title_and_message(receiver: HTTPServer) -> None:
    # A host and a topic make Apprise use mode=private: it posts to that host, not ntfy.sh.
    target = parse_target(f"ntfy://127.0.0.1:{receiver.port}/pixclass-alerts")
    events: list[Event] = [
        RunFailed("birds", 4, "ran out of memory while clustering"),
        ImagesClassified("birds", 30, {"crow": 20, "owl": 10}),
        ReviewNeeded("birds", 4, 17, link="http://pix.local/runs/4/review"),
    ]

    notifier = Notifier([target], allow_private=True)
    results = [r for event in events for r in notifier.send(event)]

    assert [r.ok for r in results] == [True, True, True]
    posts = [json.loads(r.get_data()) for r in requests_to(receiver, "/")]
    assert [p["topic"] for p in posts] == ["pixclass-alerts"] * 3
    assert posts[0]["title"] == "pixclass: run 4 on birds failed"
    assert "ran out of memory while clustering" in posts[0]["message"]
    assert "crow 20, owl 10" in posts[1]["message"]
    assert posts[2]["message"].endswith(
        "Open: http://pix.local/runs/4/review\n(pixclass event: review-needed)"
    )
    assert [r.event_type for r in results] == ["run-failed", "images-classified", "review-needed"]


def test_ntfy_gets_the_montage_as_an_upload(receiver: HTTPServer) -> None:
    target = parse_target(f"ntfy://127.0.0.1:{receiver.port}/pixclass-alerts")

    [result] = Notifier([target], allow_private=True).send(
        RunFinished("birds", 5, [("crow", 1)], montage_png=PNG)
    )

    assert result.ok, result.error
    [upload] = requests_to(receiver, "/pixclass-alerts")
    assert upload.get_data() == PNG
    assert upload.args["filename"] == "pixclass-run-5-montage.png"
    assert upload.args["title"] == "pixclass: 1 class found in birds"


def test_tags_pick_the_events_a_target_gets(receiver: HTTPServer) -> None:
    only_failures = parse_target(f"json://127.0.0.1:{receiver.port}/hook", tags=["run-failed"])
    everything = parse_target(f"form://127.0.0.1:{receiver.port}/form")
    notifier = Notifier([only_failures, everything], allow_private=True)

    finished = notifier.send(RunFinished("birds", 1, [("crow", 1)]))
    failed = notifier.send(RunFailed("birds", 2, "boom"))

    assert [r.target.split(":")[0] for r in finished] == ["form"]
    assert [r.target.split(":")[0] for r in failed] == ["json", "form"]
    assert len(requests_to(receiver, "/hook")) == 1
    assert len(requests_to(receiver, "/form")) == 2
