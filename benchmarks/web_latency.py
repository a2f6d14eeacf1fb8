"""Latency of the web app on a 70,000-image collection (MNIST), served by `pixclass serve`.

    python benchmarks/web_latency.py [--data-dir /tmp/pixclass-bench-web] [--n 70000] [--seconds 60]

(``--seconds 0`` measures the pages alone, without the 60 s of concurrent clients.)

The first time, the data dir (the cache: keep it between runs) gets collection "mnist" (all
70,000 digits; with ``--n N`` below 70,000, collection "mnist-N" of the first N) and a finished
run with map coordinates: a few minutes on 2 idle cores. Later runs reuse it. Then the app is
started in a subprocess on a free loopback port and measured from this process over real HTTP:

* gallery page and class page, p50 / p95 (target: p95 <= 200 ms);
* viewer open (the image's details with 12 similar images, and the image), p95 (target <= 150 ms);
* the map's data for every point (metadata + binary), p95 (target <= 1 s);
* classifying one uploaded image with the model loaded, p95 (target <= 50 ms);
* 20 concurrent clients uploading and browsing for 60 s: server errors (target 0), and every
  image reported as added is counted in the database afterwards (nothing lost).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from pixclass.config import Settings
from pixclass.io import load_dataset
from pixclass.services.cluster import run_collection_clustering
from pixclass.services.ingest import ingest
from pixclass.store import list_runs, open_store

TOKEN = "bench-token-7a1f3c"
COLLECTION = "mnist"
UPLOADS = "concurrent uploads"
MNIST_SIZE = 70_000
MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def collection_name(n: int) -> str:
    return COLLECTION if n >= MNIST_SIZE else f"{COLLECTION}-{n}"


def prepare(data_dir: Path, n: int) -> int:
    """The id of a finished run of the collection of ``n`` digits, making it when missing."""
    settings = Settings(data_dir=data_dir, mnist_dir=str(MNIST_DIR))
    name = collection_name(n)
    with open_store(settings) as store:
        done = [r for r in list_runs(store) if r.collection == name and r.status == "done"]
        if done:
            print(f"reusing run {done[0].id} of {name!r} in {data_dir}")
            return done[0].id
        started = time.perf_counter()
        if n >= MNIST_SIZE:
            report = ingest(store, "mnist", name, settings=settings)
        else:
            report = ingest(store, write_first_digits(data_dir / f"source-{n}", n), name)
        print(f"ingested {report.added} images in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        run_id = run_collection_clustering(store, name, seed=None, map_2d=True)
        print(f"clustered (run {run_id}) in {time.perf_counter() - started:.0f} s")
        return run_id


def write_first_digits(folder: Path, n: int) -> Path:
    """The first ``n`` MNIST digits as PNG files (kept: the data dir is the benchmark's cache)."""
    folder.mkdir(parents=True, exist_ok=True)
    images = load_dataset("mnist", Settings(mnist_dir=str(MNIST_DIR))).images[:n]
    for i, array in enumerate(images):
        path = folder / f"digit-{i:05d}.png"
        if not path.exists():
            Image.fromarray(array).save(path, format="PNG")
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_app(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PIXCLASS_APP_TOKEN": TOKEN}
    command = [sys.executable, "-m", "pixclass", "--data-dir", str(data_dir), "serve"]
    log = (data_dir / "bench-serve.log").open("wb")
    process = subprocess.Popen(
        [*command, "--port", str(port), "--no-worker"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the app did not start; see bench-serve.log in the data dir")


def timed(call: Callable[[], httpx.Response], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls (each must succeed)."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        out.append(1000 * (time.perf_counter() - started))
        response.raise_for_status()
    return out


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def show(label: str, values: list[float], target: float) -> None:
    verdict = "met" if p95(values) <= target else "NOT met"
    print(
        f"{label:<34} p50 {statistics.median(values):7.1f} ms   p95 {p95(values):7.1f} ms   "
        f"(target p95 <= {target:.0f} ms: {verdict}, n={len(values)})"
    )


def new_png(rng: random.Random, digits: np.ndarray) -> bytes:
    """A digit with a few pixels changed: new bytes, so the app stores a new image."""
    array = digits[rng.randrange(len(digits))].copy()
    for _ in range(3):
        array[rng.randrange(28), rng.randrange(28)] = rng.randrange(256)
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def viewer(client: httpx.Client, run_id: int, ids: list[int]) -> Callable[[], httpx.Response]:
    """What the viewer fetches on opening an image: details with 12 similar, then the image."""

    def open_viewer() -> httpx.Response:
        image_id = ids[0]
        ids.append(ids.pop(0))
        client.get(f"/api/images/{image_id}", params={"run": run_id, "similar": 12})
        return client.get(f"/api/images/{image_id}/original")

    return open_viewer


def measure_pages(client: httpx.Client, run_id: int, started_at: float) -> None:
    classes = client.get(f"/api/runs/{run_id}/classes").json()
    biggest = max(classes, key=lambda c: c["size"])
    page = f"/runs/{run_id}/classes/{biggest['index']}"
    ids = [
        i["image_id"]
        for i in client.get(
            f"{page.replace('/runs', '/api/runs')}/images", params={"limit": 50}
        ).json()
    ]
    open_viewer = viewer(client, run_id, ids)
    # First, as a person opening an image right after the start: the app loads the newest
    # run's model when it starts, and this waits for what is left of that.
    started = time.perf_counter()
    open_viewer()
    done = time.perf_counter()
    print(
        f"viewer open, first call: {1000 * (done - started):.0f} ms "
        f"({done - started_at:.1f} s after the app was started)"
    )

    client.get(f"/runs/{run_id}/classes")  # warm-up
    show("gallery page", timed(lambda: client.get(f"/runs/{run_id}/classes"), 50), 200)
    show(f"class page ({biggest['size']:,} images)", timed(lambda: client.get(page), 50), 200)
    more = f"{page}/images?offset={biggest['size'] // 2}"  # a page halfway down
    show("class page, a later lazy page", timed(lambda: client.get(more), 50), 200)
    filtered = f"{more}&unconfirmed=1"
    show("the same, unconfirmed only", timed(lambda: client.get(filtered), 50), 200)
    show(
        "live version of a run (polled every 3 s)",
        timed(lambda: client.get(f"/live?run={run_id}"), 50),
        200,
    )
    show("viewer open (details, 12 similar, original)", timed(open_viewer, 50), 150)
    measure_map(client, run_id)


def measure_map(client: httpx.Client, run_id: int) -> None:
    def map_data() -> httpx.Response:
        meta = client.get(f"/api/runs/{run_id}/map").json()
        return client.get(meta["binary"])

    started = time.perf_counter()
    binary = map_data()  # the first call reads the run's positions, which are kept
    first = 1000 * (time.perf_counter() - started)
    print(
        f"map data: {(len(binary.content) - 8) // 16:,} points, {len(binary.content):,} bytes; "
        f"first call {first:.0f} ms"
    )
    show("map data (meta + binary)", timed(map_data, 10), 1000)


def measure_classify(client: httpx.Client, collection_id: int, digits: np.ndarray) -> None:
    rng = random.Random(time.time_ns())  # new images on every run of the benchmark
    url = f"/api/collections/{collection_id}/classify"

    def classify() -> httpx.Response:
        files = {"files": ("new.png", new_png(rng, digits), "image/png")}
        response = client.post(url, files=files)
        if response.status_code == 200 and not response.json()[0]["new"]:
            raise SystemExit("the image to classify was not new; the figure would not count")
        return response

    started = time.perf_counter()
    first = classify()
    first.raise_for_status()
    loaded = 1000 * (time.perf_counter() - started)
    print(f"classify, first call (loads the model): {loaded:.0f} ms")
    show("classify one uploaded image", timed(classify, 100), 50)


def concurrent_load(
    base: str, run_id: int, digits: np.ndarray, seconds: float, n_images: int
) -> None:
    admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    found = [c for c in admin.get("/api/collections").json() if c["name"] == UPLOADS]
    if found:
        target = found[0]["id"]
    else:
        target = admin.post("/api/collections", json={"name": UPLOADS}).json()["id"]
    before = admin.get(f"/api/collections/{target}").json()["n_images"]
    classes = admin.get(f"/api/runs/{run_id}/classes").json()
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    counts = {"requests": 0, "server_errors": 0, "other_errors": 0, "added": 0}
    latencies: list[float] = []

    def client_loop(seed: int) -> None:
        rng = random.Random(f"{seed}-{time.time_ns()}")  # new images on every run
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
        ) as client:
            while time.monotonic() < stop:
                started = time.perf_counter()
                added = 0
                try:
                    if rng.random() < 0.4:
                        files = [
                            ("files", (f"c{seed}-{i}.png", new_png(rng, digits), "image/png"))
                            for i in range(rng.randint(1, 3))
                        ]
                        response = client.post(f"/api/collections/{target}/upload", files=files)
                        if response.status_code == 200:
                            added = response.json()["added"]
                    else:
                        index = rng.choice(classes)["index"]
                        path = rng.choice(
                            [
                                f"/runs/{run_id}/classes",
                                f"/runs/{run_id}/classes/{index}",
                                f"/api/runs/{run_id}/classes/{index}/images?offset=120",
                                f"/api/images/{rng.randint(1, n_images)}/thumbnail",
                            ]
                        )
                        response = client.get(path)
                    status = response.status_code
                except httpx.HTTPError:
                    status = -1
                elapsed = 1000 * (time.perf_counter() - started)
                with lock:
                    counts["requests"] += 1
                    counts["added"] += added
                    latencies.append(elapsed)
                    if status >= 500:
                        counts["server_errors"] += 1
                    elif status != 200:
                        counts["other_errors"] += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = admin.get(f"/api/collections/{target}").json()["n_images"]
    lost = counts["added"] - (after - before)
    print(
        f"20 clients x {seconds:.0f} s: {counts['requests']:,} requests "
        f"({counts['requests'] / seconds:.0f}/s), p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {p95(latencies):.0f} ms; server errors {counts['server_errors']}, "
        f"other failures {counts['other_errors']}; {counts['added']} images reported added, "
        f"{after - before} more in the database: {'nothing lost' if lost == 0 else f'{lost} LOST'}"
    )
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pixclass-bench-web"))
    parser.add_argument("--n", type=int, default=MNIST_SIZE, help="digits in the collection")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="of concurrent load (0: leave it out)"
    )
    args = parser.parse_args()
    if not 100 <= args.n <= MNIST_SIZE:
        parser.error(f"--n must be between 100 and {MNIST_SIZE:,}")
    run_id = prepare(args.data_dir, args.n)
    name = collection_name(args.n)
    digits = load_dataset("mnist", Settings(mnist_dir=str(MNIST_DIR))).images[:2000]
    port = free_port()
    started_at = time.perf_counter()
    app = start_app(args.data_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        ) as client:
            collection_id = next(
                c["id"] for c in client.get("/api/collections").json() if c["name"] == name
            )
            print(f"run {run_id} of collection {name!r} (id {collection_id}), {base}")
            measure_pages(client, run_id, started_at)
            measure_classify(client, collection_id, digits)
        if args.seconds > 0:
            concurrent_load(base, run_id, digits, args.seconds, args.n)
    finally:
        app.terminate()
        app.wait(30)


if __name__ == "__main__":
    main()
