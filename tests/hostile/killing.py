"""What the kill -9 tests share: processes of pixclass, random kill moments, distinct images,
and the figures each scenario returns (the tests assert them; ``benchmarks/kill.py`` prints
them for 20 repetitions per kind).

A scenario's repetitions come from an environment variable (its default keeps the suite short);
the moments are random, from a seed printed with the figures (``PIXCLASS_KILL_SEED`` repeats a
sequence).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from PIL import Image

from pixclass.config import Settings
from pixclass.store.db import create_store_engine
from pixclass.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
# Generous: a pixclass process takes seconds to start on an idle machine, ten times that on a
# loaded one; every wait ends as soon as its event happens.
START_LIMIT = 120.0


def repetitions(variable: str, default: int) -> int:
    return int(os.environ.get(variable, str(default)))


def seeded_rng() -> tuple[random.Random, int]:
    seed = int(os.environ.get("PIXCLASS_KILL_SEED", str(random.SystemRandom().randrange(2**31))))
    return random.Random(seed), seed


@dataclass
class KillFigures:
    """What ``kind`` killed ``repetitions`` times left behind: each count must be 0."""

    kind: str
    database: str
    seed: int
    repetitions: int = 0
    killed_mid_way: int = 0  # kills that landed while the work was under way
    lost: int = 0  # images committed before a kill and missing (or changed) afterwards
    corrupt: int = 0  # half-written rows, bytes that do not hash to their SHA-256, bad files
    stuck: int = 0  # jobs or runs left "running" after a restart
    left: int = 0  # files of the killed process left behind once it runs again
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.lost == self.corrupt == self.stuck == self.left == 0

    def line(self) -> str:
        return (
            f"kill -9 {self.kind} on {self.database}: {self.repetitions} repetitions "
            f"({self.killed_mid_way} mid-way), lost {self.lost}, corrupt {self.corrupt}, "
            f"stuck {self.stuck}, left behind {self.left} (seed {self.seed})"
        )


def database_kind(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def prepared_settings(data_dir: Path, database_url: str, **values: object) -> Settings:
    """Settings on an upgraded database (a fresh SQLite file or PostgreSQL schema)."""
    settings = Settings(data_dir=data_dir, database_url=database_url, **values)  # type: ignore[arg-type]
    settings.ensure_dirs()
    engine = create_store_engine(settings.resolved_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return settings


def pixclass_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "PIXCLASS_DATA_DIR": str(settings.data_dir),
        "PIXCLASS_DATABASE_URL": settings.database_url,
        **extra,
    }


def pixclass(*args: str) -> list[str]:
    return [sys.executable, "-m", "pixclass", *args]


def write_images(folder: Path, start: int, count: int, size: int = 16) -> dict[str, str]:
    """``count`` distinct small PNGs (seeded by their number); their SHA-256 by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for i in range(start, start + count):
        pixels = np.random.default_rng(i).integers(0, 256, (size, size), dtype=np.uint8)
        path = folder / f"img-{i:05d}.png"
        Image.fromarray(pixels).save(path)
        hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def wait_for(ready: Callable[[], bool], limit: float, what: str, step: float = 0.02) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {limit:.0f} s")
        time.sleep(step)


def kill(process: subprocess.Popen[bytes]) -> bool:
    """SIGKILL; True when the process was still running (the kill landed)."""
    landed = process.poll() is None
    if landed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return landed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scalar(settings: Settings, query: str) -> int:
    """One number from the database, read directly (no recovery on open)."""
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(query)).scalar() or 0)
    finally:
        engine.dispose()
