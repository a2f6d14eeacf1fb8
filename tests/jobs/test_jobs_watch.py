"""A watched inbox, for real: files dropped into a folder (one still being written, one under a
temporary name, one corrupt) end up classified or reported, once each, in one notification per
batch; files that arrive while the watcher is down are picked up when it starts again."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from jobs_samples import mnist_arrays, png_bytes, write_digits
from pytest_httpserver import HTTPServer

from pixclass.config import Settings
from pixclass.jobs.watch import BatchReport, InboxWatcher, is_candidate
from pixclass.services.cluster import run_collection_clustering
from pixclass.store import Store, effective_classes, open_store
from pixclass.store.schema import InboxFile


@pytest.fixture
def hook(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver


def notifications(server: HTTPServer) -> list[dict[str, str]]:
    return [json.loads(r.get_data()) for r, _ in server.log if r.path == "/hook"]


def classified_messages(server: HTTPServer) -> list[dict[str, str]]:
    """The batch summaries; a run that leaves uncertain images also sends "review-needed"."""
    found = notifications(server)
    assert all(
        m["message"].endswith(
            ("(pixclass event: images-classified)", "(pixclass event: review-needed)")
        )
        for m in found
    ), found
    return [m for m in found if m["message"].endswith("(pixclass event: images-classified)")]


@contextmanager
def watching(watcher: InboxWatcher) -> Iterator[list[BatchReport]]:
    """The watcher polling in a thread; yields the batches it handles."""
    batches: list[BatchReport] = []
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), kwargs={"on_batch": batches.append})
    thread.start()
    try:
        yield batches
    finally:
        stop.set()
        thread.join(timeout=60)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def inbox_rows(store: Store) -> dict[str, InboxFile]:
    with store.session() as session:
        return {row.path: row for row in session.query(InboxFile)}


def write_slowly(path: Path, data: bytes, pieces: int = 6, pause: float = 0.3) -> None:
    """Write ``data`` in pieces with pauses shorter than the settle time, like a slow copy."""
    step = -(-len(data) // pieces)
    with open(path, "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            time.sleep(pause)


def test_dropped_files_are_classified_or_reported_once_and_a_restart_resumes(
    clustered: Settings, hook: HTTPServer, tmp_path: Path
) -> None:
    settings = replace(clustered, notify_urls=(f"json://127.0.0.1:{hook.port}/hook",))
    inbox = tmp_path / "inbox"
    write_digits(inbox / "scanner-1", 2000, 12)  # a subfolder, as scanners make them
    (inbox / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not the rest of a PNG")
    (inbox / ".hidden.png").write_bytes(png_bytes(mnist_arrays(2020, 1)[0][0]))
    late = inbox / "late.png.part"
    late.write_bytes(png_bytes(mnist_arrays(2021, 1)[0][0]))
    slow_bytes = png_bytes(mnist_arrays(2022, 1)[0][0])
    (inbox / "notes.txt").write_text("not an image: ignored")

    with open_store(settings) as store:
        watcher = InboxWatcher(settings, store, inbox, "digits", interval=0.2, settle=1.0)
        with watching(watcher) as batches:
            writer = threading.Thread(target=write_slowly, args=(inbox / "slow.png", slow_bytes))
            writer.start()
            time.sleep(0.6)
            late.rename(inbox / "late.png")  # the writer's final rename
            writer.join()
            wait_for(lambda: len(inbox_rows(store)) == 15)
            time.sleep(1.5)  # a few more polls: nothing is handled twice
        rows = inbox_rows(store)
        classes = {c.image_id: c for c in effective_classes(store, 1)}

    [batch] = batches  # one burst, one batch
    assert (batch.files, batch.classified, batch.waiting) == (15, 14, 0)
    assert [name for name, _ in batch.skipped] == ["broken.png"]
    assert {r.status for p, r in rows.items() if p != "broken.png"} == {"classified"}
    assert rows["broken.png"].status == "skipped" and rows["broken.png"].reason
    assert rows["slow.png"].size == len(slow_bytes)  # read only once complete
    assert ".hidden.png" not in rows and "late.png.part" not in rows
    assert all(r.image_id in classes for r in rows.values() if r.status == "classified")
    [message] = classified_messages(hook)
    assert message["title"] == "pixclass: 14 images classified in digits"
    body = message["message"]
    assert body.startswith('14 new images classified in "digits".')
    assert f"Skipped 1 file:\n- broken.png: {rows['broken.png'].reason}" in body
    assert "Open: http://pix.test:8000/runs/1" in body

    write_digits(inbox / "scanner-1", 2100, 5)  # arrived while the watcher was down
    with open_store(settings) as store:
        watcher = InboxWatcher(settings, store, inbox, "digits", interval=0.2, settle=0.5)
        watcher.run(once=True)
        rows = inbox_rows(store)
    assert len(rows) == 20
    messages = classified_messages(hook)
    assert len(messages) == 2
    assert messages[1]["title"] == "pixclass: 5 images classified in digits"
    assert "broken.png" not in messages[1]["message"]  # reported once


def test_without_a_model_images_wait_and_are_classified_after_the_first_run(
    settings: Settings, hook: HTTPServer, tmp_path: Path
) -> None:
    settings = replace(settings, notify_urls=(f"json://127.0.0.1:{hook.port}/hook",))
    inbox = tmp_path / "inbox"
    write_digits(inbox, 3000, 60)
    with open_store(settings) as store:
        watcher = InboxWatcher(settings, store, inbox, "fresh", interval=0.1, settle=0.2)
        watcher.run(once=True)
        assert {r.status for r in inbox_rows(store).values()} == {"waiting"}
        first = notifications(hook)[0]["message"]
        assert "60 images added but not classified yet" in first

        run_collection_clustering(store, "fresh", n_clusters=4, seed=0, map_2d=False)
        report = watcher.poll()  # the model is there: the waiting images go through it
        assert report is not None and report.classified == 60
        assert {r.status for r in inbox_rows(store).values()} == {"classified"}
        assert watcher.poll() is None
    assert notifications(hook)[1]["title"] == "pixclass: 60 images classified in fresh"


@pytest.mark.parametrize(
    ("name", "candidate"),
    [
        ("a.png", True),
        ("A.JPG", True),
        ("a.png.part", False),
        ("a.png.crdownload", False),
        ("a.png~", False),
        (".a.png", False),
        ("~$a.png", False),
        ("a.txt", False),
        ("set.ZIP", True),
        ("set.zip.part", False),
    ],
)
def test_names_of_files_being_written_are_left_alone(name: str, candidate: bool) -> None:
    assert is_candidate(name) is candidate
