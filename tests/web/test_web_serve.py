"""`pixclass serve` for real: it prints the URL and, on the first start, the token it generated
(kept in the data dir, readable by its owner only), which then opens the API."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_serve_prints_url_and_generated_token(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "PIXCLASS_APP_TOKEN"}
    command = [sys.executable, "-m", "pixclass", "--data-dir", str(data), "serve", "--no-worker"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "serving on" in line or not line:
                break
        assert f"http://127.0.0.1:{port}/" in lines[-1], lines
        generated = next(i for i, line in enumerate(lines) if "Generated" in line)
        token = lines[generated + 1].strip()
        token_file = data / "app-token"
        assert token_file.read_text().strip() == token
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                response = httpx.get(
                    base + "/api/collections", headers={"Authorization": f"Bearer {token}"}
                )
                break
            except httpx.ConnectError:
                time.sleep(0.2)
        assert response.status_code == 200 and response.json() == []
        assert httpx.get(base + "/api/collections").status_code == 401
    finally:
        process.terminate()
        process.wait(30)
