"""What the browser tests share: `pixclass serve` in a subprocess (with its worker), Debian's
chromium driven by Playwright, a run with one class of more than 1,000 images made through the
HTTP API, and a page wrapper that records every console error and failed request."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_samples import TOKEN, write_digits


def wait_for(page: Any, expression: str, arg: Any = None, timeout: float = 15_000) -> None:
    """``page.wait_for_function`` without eval: Playwright's in-page polling compiles the
    expression with ``new Function``, which the app's Content-Security-Policy (no
    'unsafe-eval') refuses, so the condition is polled from here with ``page.evaluate``."""
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if page.evaluate(expression, arg):
                return
        except Error as exc:  # a navigation in between: ask the new page
            if "context was destroyed" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(50)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIZES = {"phone": (390, 844), "laptop": (1440, 900), "wide": (2560, 1440)}
BIG_CLASS = 1_100  # images in the big class (the issue asks for a class of at least 1,000)
N_BIG = 1_200  # images in the big collection


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set, so this is a failure)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(data: Path) -> Iterator[str]:
    """`pixclass serve` (with its worker) on a free loopback port; yields the base URL."""
    port = free_port()
    env = {**os.environ, "PIXCLASS_APP_TOKEN": TOKEN, "PIXCLASS_QUEUE_URL": "sqlite"}
    data.parent.mkdir(parents=True, exist_ok=True)
    log = (data.parent / "serve.log").open("w")
    command = [sys.executable, "-m", "pixclass", "--data-dir", str(data), "serve"]
    # Its own session, so the worker child goes too if serve has to be killed.
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pixclass serve exited with {process.returncode}")
        try:
            if httpx.get(base + "/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("pixclass serve did not answer within 60 s")


def api(server: str) -> httpx.Client:
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)


@dataclass
class BigRun:
    """A served collection whose finished run has one class of ``BIG_CLASS`` images."""

    server: str
    collection_id: int
    run_id: int
    big: int  # the index of the big class
    small: int  # the index of the other class
    data: Path | None = None  # the server's data dir (its SQLite database is in it)


def make_big_run(server: str, folder: Path, name: str = "big digits") -> BigRun:
    """Upload ``N_BIG`` digits, cluster them into two classes (k-means on pixels), then move
    images until one class holds ``BIG_CLASS``: all through the HTTP API."""
    write_digits(folder, N_BIG)
    with api(server) as client:
        collection = client.post("/api/collections", json={"name": name}).json()
        files = [("files", (p.name, p.read_bytes(), "image/png")) for p in sorted(folder.iterdir())]
        added = client.post(f"/api/collections/{collection['id']}/upload", files=files).json()
        assert added["added"] == N_BIG, added
        body = {"n_clusters": 2, "features": "pixels", "method": "kmeans", "seed": 0}
        job = client.post(f"/api/collections/{collection['id']}/runs", json=body).json()
        job = _wait_for_job(client, job["id"])
        run_id = int(job["result"]["run_id"])
        classes = sorted(client.get(f"/api/runs/{run_id}/classes").json(), key=lambda c: -c["size"])
        big, small = classes[0], classes[1]
        need = BIG_CLASS - big["size"]
        ids = client.get(
            f"/api/runs/{run_id}/classes/{small['index']}/images", params={"limit": 5000}
        ).json()
        if need > 0:
            move = {"image_ids": [i["image_id"] for i in ids[:need]], "to": big["index"]}
            assert client.post(f"/api/runs/{run_id}/move", json=move).status_code == 200
        sizes = {c["index"]: c["size"] for c in client.get(f"/api/runs/{run_id}/classes").json()}
        assert sizes[big["index"]] >= BIG_CLASS, sizes
    return BigRun(server, int(collection["id"]), run_id, big["index"], small["index"])


def _wait_for_job(client: httpx.Client, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            assert job["state"] == "done", job
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish within 600 s")


@dataclass
class Watched:
    """A page and every console error, page error and failed request seen on it."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def clear(self) -> list[str]:
        seen, self.errors[:] = list(self.errors), []
        return seen


def watch(page: Any) -> Watched:
    watched = Watched(page)
    page.on(
        "console",
        lambda m: watched.errors.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: watched.errors.append(f"pageerror: {e}"))
    page.on(
        "response",
        lambda r: watched.errors.append(f"{r.status} {r.url}") if r.status >= 500 else None,
    )
    return watched


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian chromium (never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def logged_in(browser: Any, server: str, size: tuple[int, int], **options: Any) -> Watched:
    """A new page of a new context at ``size``, logged in, watched for errors."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, **options)
    page = context.new_page()
    watched = watch(page)
    page.goto(server + "/login")
    page.fill("input[name=token]", TOKEN)
    page.click("button.primary")
    page.wait_for_url(server + "/")
    return watched


def wait_for_images(page: Any) -> None:
    """Until every image in view has loaded (screenshots of half-loaded grids mislead)."""
    wait_for(
        page,
        """() => Array.from(document.images).every(img => {
            const r = img.getBoundingClientRect();
            return img.complete || r.top > window.innerHeight;
        })""",
        timeout=30_000,
    )


@pytest.fixture(scope="session")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigRun]:
    """One served data dir with a run that has a class of ``BIG_CLASS`` images."""
    require_chromium()
    root = tmp_path_factory.mktemp("big")
    with serve(root / "data") as server:
        made = make_big_run(server, root / "digits")
        made.data = root / "data"
        yield made


@pytest.fixture(scope="session")
def chrome() -> Iterator[Any]:
    with chromium() as launched:
        yield launched
