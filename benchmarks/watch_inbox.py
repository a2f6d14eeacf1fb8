"""1,000 MNIST PNGs dropped into a watched inbox of a collection that already has a model.

A collection of MNIST training digits (``--train``, default 3,000, ingested with their labels)
is clustered first. Then ``pixclass watch`` runs in a subprocess on an empty inbox, notifying a
JSON webhook on loopback, and 1,000 MNIST test digits are written into the inbox as PNG files.
Prints the time from the last file written to the summary notification received (target:
<= 10 s), what the notification said, the counts in the database, and how often the class given
to a new digit is the majority digit of that class in the training run.

    .venv/bin/python benchmarks/watch_inbox.py [--train 3000] [--files 1000] [--settle 1]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from pixclass.config import Settings
from pixclass.io import export_dataset, load_dataset
from pixclass.io.imageset import ImageSet
from pixclass.services.cluster import run_collection_clustering
from pixclass.services.ingest import ingest
from pixclass.services.sources import encode_png
from pixclass.store import Store, effective_classes, open_store
from pixclass.store.schema import Assignment, Image, InboxFile, NotificationSend

COLLECTION = "mnist"


class Receiver(BaseHTTPRequestHandler):
    """Keeps every JSON notification with the time it arrived."""

    received: list[tuple[float, dict[str, Any]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            self.received.append((time.time(), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def prepare_collection(settings: Settings, mnist: ImageSet, n_train: int, work: Path) -> int:
    """Ingest ``n_train`` labeled training digits and cluster them; returns the run id."""
    subset = ImageSet(
        images=mnist.images[:n_train],
        names=mnist.names[:n_train],
        labels=None if mnist.labels is None else mnist.labels[:n_train],
        class_names=mnist.class_names,
        source="mnist",
    )
    export_dataset(subset, work / "train")
    with open_store(settings) as store:
        started = time.perf_counter()
        ingest(store, work / "train", COLLECTION)
        run_id = run_collection_clustering(store, COLLECTION, seed=0, map_2d=False)
        seconds = time.perf_counter() - started
        print(f"clustered {n_train} training digits: run {run_id} ({seconds:.1f} s)")
    return run_id


def start_watcher(settings: Settings, inbox: Path, hook: str, settle: float, log: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXCLASS_")}
    env.update(PIXCLASS_DATA_DIR=str(settings.data_dir), PIXCLASS_NOTIFY_URLS=hook)
    command = [sys.executable, "-m", "pixclass", "watch", str(inbox), "-c", COLLECTION]
    command += ["--interval", "0.5", "--settle", str(settle)]
    handle = open(log, "wb")  # noqa: SIM115  (the subprocess owns it)
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while b"watching" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the watcher did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def majority_agreement(store: Store, run_id: int, truth: dict[str, int]) -> float:
    """Share of new digits whose class's majority training digit is their true digit."""
    classes = effective_classes(store, run_id)
    with store.session() as session:
        rows = session.execute(select(Image.id, Image.file_name, Image.known_label)).all()
    label_of = {image_id: known for image_id, _, known in rows}
    name_of = {image_id: name for image_id, name, _ in rows}
    votes: dict[str, Counter[str]] = {}
    for c in classes:
        if label_of.get(c.image_id) is not None:
            votes.setdefault(c.class_name, Counter())[str(label_of[c.image_id])] += 1
    majority = {name: count.most_common(1)[0][0] for name, count in votes.items()}
    new = [c for c in classes if name_of.get(c.image_id) in truth]
    right = sum(1 for c in new if majority.get(c.class_name) == str(truth[name_of[c.image_id]]))
    return right / max(1, len(new))


def report_counts(store: Store, run_id: int) -> None:
    with store.session() as session:
        statuses = dict(
            session.execute(select(InboxFile.status, func.count()).group_by(InboxFile.status)).all()
        )
        assigned = session.scalar(
            select(func.count())
            .select_from(Assignment)
            .join(InboxFile, InboxFile.image_id == Assignment.image_id)
            .where(Assignment.run_id == run_id)
        )
        sends = session.scalar(select(func.count()).select_from(NotificationSend))
    print(f"inbox files in the database: {statuses}; assigned in run {run_id}: {assigned}")
    print(f"notifications recorded in the database: {sends}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=1.0)
    args = parser.parse_args()

    mnist = load_dataset("mnist")
    work = Path(tempfile.mkdtemp(prefix="pixclass-watch-bench-"))
    settings = Settings(data_dir=work / "data")
    run_id = prepare_collection(settings, mnist, args.train, work)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"json://127.0.0.1:{server.server_address[1]}/hook"
    inbox = work / "inbox"
    inbox.mkdir()
    watcher = start_watcher(settings, inbox, hook, args.settle, work / "watch.log")

    test = np.arange(len(mnist) - args.files, len(mnist))  # the last test digits
    truth: dict[str, int] = {}
    started = time.time()
    for i in test:
        name = f"new-{i:05d}.png"
        (inbox / name).write_bytes(encode_png(mnist.images, int(i)))
        truth[name] = int(mnist.labels[i]) if mnist.labels is not None else -1
    last_written = time.time()
    print(f"wrote {args.files} PNG files into the inbox in {last_written - started:.2f} s")

    deadline = time.time() + 300
    while not Receiver.received and time.time() < deadline:
        time.sleep(0.05)
    if not Receiver.received:
        raise SystemExit(
            f"no notification within 300 s; watcher log:\n{(work / 'watch.log').read_text()}"
        )
    arrived, payload = Receiver.received[0]
    time.sleep(3)  # would a second notification follow?
    watcher.send_signal(signal.SIGINT)
    watcher.wait(timeout=60)
    server.shutdown()

    latency = arrived - last_written
    print(
        f"last file written -> notification received: {latency:.2f} s (target <= 10 s; "
        f"settle {args.settle:g} s, a look every 0.5 s)"
    )
    print(f"notifications received: {len(Receiver.received)} (one summary per batch)")
    print(f"notification title: {payload['title']}")
    print("notification body:\n  " + payload["message"].replace("\n", "\n  "))
    with open_store(settings) as store:
        report_counts(store, run_id)
        agreement = majority_agreement(store, run_id, truth)
    print(f"new digits whose class's majority training digit is their own: {agreement:.1%}")


if __name__ == "__main__":
    main()
