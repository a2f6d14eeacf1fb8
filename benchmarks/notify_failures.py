"""20 notification sends to four targets, one of which always answers HTTP 500.

Prints how many results were recorded through ``on_result`` (each one stored in the
``notifications`` table of a fresh SQLite database, as jobs do), whether the healthy targets got
every message, and how many tries the failing one took (bounded by ``retries``).

    .venv/bin/python benchmarks/notify_failures.py
"""

from __future__ import annotations

import collections
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pixclass.config import Settings
from pixclass.notify import Notifier, RunFinished, SendResult, parse_target
from pixclass.store import create_collection, list_sends, open_store, record_send

SENDS = 20
RETRIES = 3
BACKOFF = 0.01


class Receiver(BaseHTTPRequestHandler):
    hits: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.lock:
            self.hits[self.path] += 1
        failing = self.path == "/broken"
        self.send_response(500 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"error": "down"} if failing else {}).encode())

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"127.0.0.1:{server.server_address[1]}"
    targets = [
        parse_target(f"json://{base}/a"),
        parse_target(f"form://{base}/b"),
        parse_target(f"ntfy://{base}/c"),
        parse_target(f"json://{base}/broken"),
    ]
    recorded: list[SendResult] = []
    store = open_store(Settings(data_dir=Path(tempfile.mkdtemp(prefix="pixclass-notify-"))))
    create_collection(store, "bench")

    def on_result(result: SendResult) -> None:
        recorded.append(result)
        record_send(store, result.to_dict(), collection="bench", run_id=int(run))

    notifier = Notifier(targets, retries=RETRIES, backoff=BACKOFF, on_result=on_result)

    started = time.perf_counter()
    for run in range(SENDS):
        notifier.send(RunFinished("bench", run, [("a", 10), ("b", 5)]))
    elapsed = time.perf_counter() - started
    server.shutdown()
    stored = list_sends(store, "bench", limit=1000)
    store.close()

    healthy = [r for r in recorded if "/broken" not in r.target]
    failed = [r for r in recorded if "/broken" in r.target]
    delivered = all(r.ok for r in healthy) and Receiver.hits["/a"] == Receiver.hits["/b"] == SENDS
    # ntfy posts to the host's root with the topic in the JSON body.
    delivered = delivered and Receiver.hits["/"] == SENDS
    print(
        f"{SENDS} notification sends with one target failing: {len(recorded)} results recorded, "
        f"other targets {'all delivered' if delivered else 'NOT all delivered'}"
    )
    print(
        f"failing target: {Receiver.hits['/broken']} tries for {len(failed)} sends "
        f"(bound {SENDS * (RETRIES + 1)} with retries={RETRIES}), "
        f"all recorded as failed: {all(not r.ok for r in failed)}"
    )
    print(f"error recorded: {failed[0].error}")
    stored_failed = sum(1 for s in stored if not s.ok)
    print(
        f"rows in the notifications table: {len(stored)} ({stored_failed} failed, "
        f"{len(stored) - stored_failed} ok)"
    )
    per_send = elapsed / SENDS * 1000
    print(f"wall time: {elapsed:.2f} s ({per_send:.0f} ms per send, backoff={BACKOFF} s)")


if __name__ == "__main__":
    main()
