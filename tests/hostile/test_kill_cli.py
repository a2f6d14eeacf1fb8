"""The CLI killed with SIGKILL at random moments, on SQLite and PostgreSQL, one database after
the other going through ingest, cluster and export:

- ``pixclass ingest`` (a folder that grows by 400 new files before each kill): only whole
  transactions are stored, every stored byte hashes to its SHA-256, and the rerun stores every
  file exactly once;
- ``pixclass cluster --collection`` (a stored run), killed while it starts or while it runs: no
  run is left "running" once the store is opened again, a failed run holds no assignments or
  classes (nothing partial is visible as complete), a done run holds all of them, and the rerun
  succeeds;
- ``pixclass export --overwrite`` over a complete export (zip and csv in turn): the file is
  always complete (written under a temporary name and renamed), never truncated; the rerun
  succeeds and nothing of the killed ones is left beside it.

Repetitions per database: ``PIXCLASS_INGEST_KILLS`` (default 2), ``PIXCLASS_CLUSTER_KILLS`` (1:
a run takes half a minute here), ``PIXCLASS_EXPORT_KILLS`` (2); ``benchmarks/kill.py`` runs 20
of each.
"""

from __future__ import annotations

import hashlib
import io
import random
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from killing import (
    START_LIMIT,
    KillFigures,
    database_kind,
    kill,
    pixclass,
    pixclass_env,
    prepared_settings,
    repetitions,
    scalar,
    seeded_rng,
    wait_for,
    write_images,
)

from pixclass.config import Settings
from pixclass.errors import NotFoundError
from pixclass.store import list_images, open_store
from pixclass.store.checks import check_consistency

INGEST_KILLS = repetitions("PIXCLASS_INGEST_KILLS", 2)
CLUSTER_KILLS = repetitions("PIXCLASS_CLUSTER_KILLS", 1)
EXPORT_KILLS = repetitions("PIXCLASS_EXPORT_KILLS", 2)
KINDS = ("ingest", "cluster", "export")
PER_REP = 400
BATCH = 40
CLUSTER = ("cluster", "--collection", "c", "--features", "pixels", "--no-refine", "-q")
# Seconds into a run a kill may land (a run of these images takes a few seconds once umap's
# functions are compiled; a kill later than that finds it done, which the check allows).
RUNNING_FOR = 4.0
FORMATS = ("zip", "csv")

pytestmark = pytest.mark.timeout((INGEST_KILLS + CLUSTER_KILLS + EXPORT_KILLS) * 90 + 900)


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pixclass(*args), env=pixclass_env(settings), capture_output=True, text=True,
        timeout=START_LIMIT * 3, check=False,
    )  # fmt: skip


def timed(settings: Settings, *args: str) -> float:
    started = time.monotonic()
    done = run(settings, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.monotonic() - started


def killed_at(settings: Settings, args: tuple[str, ...], moment: Callable[[], None]) -> bool:
    """Start ``pixclass ARGS``, wait for ``moment()``, SIGKILL it; True when it was running."""
    process = subprocess.Popen(
        pixclass(*args), env=pixclass_env(settings),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        moment()
    finally:
        landed = kill(process)
    return landed


def count_images(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM images")).scalar() or 0)


def kill_ingest(settings: Settings, folder: Path, kills: int, figures: KillFigures) -> None:
    """Kill ``pixclass ingest`` once a random number of the new files is stored."""
    rng = random.Random(figures.seed)
    expected: dict[str, str] = {}
    command = ("ingest", str(folder), "-c", "c", "-q", "--batch-size", str(BATCH))
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        for rep in range(kills):
            expected |= write_images(folder, rep * PER_REP, PER_REP)
            before = count_images(engine)
            threshold = before + rng.randint(0, PER_REP)
            extra = rng.uniform(0, 0.05)

            def moment(threshold: int = threshold, extra: float = extra) -> None:
                wait_for(
                    lambda: count_images(engine) >= threshold, START_LIMIT, "the ingest", 0.005
                )
                time.sleep(extra)

            landed = killed_at(settings, command, moment)
            figures.repetitions += 1
            figures.killed_mid_way += landed and count_images(engine) < len(expected)
            _check_ingest(settings, expected, figures, whole_from=before)
    finally:
        engine.dispose()
    timed(settings, *command)  # the rerun completes it
    _check_ingest(settings, expected, figures, whole_from=0, complete=True)


def _check_ingest(
    settings: Settings,
    expected: dict[str, str],
    figures: KillFigures,
    *,
    whole_from: int,
    complete: bool = False,
) -> None:
    with open_store(settings, recover=False) as store:
        try:
            images = list_images(store, "c")
        except NotFoundError:  # killed before its first transaction
            images = []
        report = check_consistency(store)
    names = [image.file_name for image in images]
    figures.corrupt += len(names) - len(set(names))
    figures.corrupt += sum(expected.get(i.file_name) != i.sha256 for i in images)
    figures.corrupt += len(report.images_without_bytes) + len(report.wrong_hashes)
    figures.corrupt += len(report.unused_blobs)
    # Only whole batches (a batch may end early at the end of the files).
    added = len(images) - whole_from
    if not complete and added % BATCH and len(images) != len(expected):
        figures.corrupt += 1
        figures.notes.append(f"{added} images added: not whole batches of {BATCH}")
    if complete:
        figures.lost += len(set(expected) - set(names))


def kill_cluster(settings: Settings, kills: int, figures: KillFigures) -> None:
    """Kill ``pixclass cluster`` at a random moment: while it starts, or while its run runs."""
    rng = random.Random(figures.seed)
    n_images = scalar(settings, "SELECT count(*) FROM images")
    for _ in range(kills):
        early = rng.random() < 0.3

        def moment(delay: float = rng.uniform(0, RUNNING_FOR), early: bool = early) -> None:
            if not early:
                wait_for(lambda: _running(settings), START_LIMIT, "the run to start")
            time.sleep(delay)

        figures.killed_mid_way += killed_at(settings, CLUSTER, moment)
        figures.repetitions += 1
        _check_runs(settings, figures, n_images)
    timed(settings, *CLUSTER)  # the rerun succeeds
    _check_runs(settings, figures, n_images)
    newest = "SELECT status FROM runs ORDER BY id DESC LIMIT 1"
    figures.stuck += _text(settings, newest) != "done"  # the rerun's run is done


def _text(settings: Settings, query: str) -> str:
    engine = sa.create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(sa.text(query)).scalar())
    finally:
        engine.dispose()


def _running(settings: Settings) -> bool:
    return scalar(settings, "SELECT count(*) FROM runs WHERE status = 'running'") > 0


def _check_runs(settings: Settings, figures: KillFigures, n_images: int) -> None:
    """Once the store is opened again: no run running, none partial, every done one whole."""
    # Opening marks the runs of dead processes failed.
    with open_store(settings) as store, store.session() as session:
        rows = session.execute(
            sa.text(
                "SELECT r.id, r.status, (SELECT count(*) FROM assignments a "
                "WHERE a.run_id = r.id), (SELECT count(*) FROM clusters k "
                "WHERE k.run_id = r.id) FROM runs r"
            )
        ).all()
    for run_id, status, n_assigned, n_clusters in rows:
        figures.stuck += status in ("running", "queued")
        whole = n_assigned == n_images and n_clusters > 0
        if (status == "done" and not whole) or (status != "done" and n_assigned + n_clusters):
            figures.corrupt += 1
            figures.notes.append(f"run {run_id} {status}: {n_assigned} assignments")


def kill_export(settings: Settings, kills: int, figures: KillFigures, out: Path) -> None:
    """Kill ``pixclass export --overwrite`` over a complete export: the file stays complete."""
    rng = random.Random(figures.seed)
    with open_store(settings) as store:
        shas = {image.file_name: image.sha256 for image in list_images(store, "c")}
    out.mkdir()
    spans = {}
    for fmt in FORMATS:
        dest = str(out / f"classes.{fmt}")
        spans[fmt] = timed(settings, "export", "-c", "c", "--format", fmt, dest)
    full_csv = (out / "classes.csv").read_text()
    for rep in range(kills):
        fmt = FORMATS[rep % 2]
        dest = out / f"classes.{fmt}"
        args = ("export", "-c", "c", "--format", fmt, str(dest), "--overwrite")
        delay = rng.uniform(0, spans[fmt])
        figures.killed_mid_way += killed_at(settings, args, lambda d=delay: time.sleep(d))
        figures.repetitions += 1
        if not _complete(dest, fmt, shas, full_csv):
            figures.corrupt += 1
            figures.notes.append(f"{dest.name}: {dest.stat().st_size} bytes, incomplete")
    for fmt in FORMATS:  # the reruns succeed, and leave nothing of the killed ones behind
        dest = out / f"classes.{fmt}"
        timed(settings, "export", "-c", "c", "--format", fmt, str(dest), "--overwrite")
        figures.corrupt += not _complete(dest, fmt, shas, full_csv)
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    figures.left += len(leftovers)
    if leftovers:
        figures.notes.append(f"left behind: {leftovers}")


def _complete(dest: Path, fmt: str, shas: dict[str, str], full_csv: str) -> bool:
    if fmt == "csv":
        return dest.read_text() == full_csv
    try:
        with zipfile.ZipFile(io.BytesIO(dest.read_bytes())) as archive:
            found = {
                Path(name).name: hashlib.sha256(archive.read(name)).hexdigest()
                for name in archive.namelist()
            }
    except (zipfile.BadZipFile, OSError):
        return False
    return found == {Path(name).name: sha for name, sha in shas.items()}


def kill_cli(tmp_path: Path, database_url: str, kills: dict[str, int]) -> dict[str, KillFigures]:
    """Ingest, cluster and export on one database, each killed ``kills[kind]`` times."""
    _, seed = seeded_rng()
    database = database_kind(database_url)
    figures = {kind: KillFigures(kind, database, seed + i) for i, kind in enumerate(KINDS)}
    settings = prepared_settings(tmp_path / "data", database_url)
    kill_ingest(settings, tmp_path / "files", kills["ingest"], figures["ingest"])
    kill_cluster(settings, kills["cluster"], figures["cluster"])
    kill_export(settings, kills["export"], figures["export"], tmp_path / "out")
    return figures


def test_the_cli_killed_at_random_leaves_it_consistent(tmp_path: Path, database_url: str) -> None:
    kills = {"ingest": INGEST_KILLS, "cluster": CLUSTER_KILLS, "export": EXPORT_KILLS}
    found = kill_cli(tmp_path, database_url, kills)
    for kind, figures in found.items():
        print("\n" + figures.line(), *figures.notes, sep="\n")
        assert figures.clean, [figures.line(), *figures.notes]
        assert figures.repetitions == kills[kind]
