"""Kill -9 figures for issue 17: ``serve``, ``worker`` and the CLI (ingest, cluster, export)
killed with SIGKILL at random moments, 20 times each, on SQLite and PostgreSQL.

The scenarios are those of tests/hostile/test_kill_*.py (which run a few repetitions in the
suite); this runs them with more and prints, per kind and database, the repetitions, how many
kills landed mid-way, and what was lost, corrupt, stuck ("running" after a restart) or left
behind. Targets: 0 / 0 / 0 / 0. Run:

    PYTHONPATH=. OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/kill.py \\
        [--reps 20] [--kinds serve,worker,ingest,cluster,export] [--databases sqlite,postgresql]

PostgreSQL is ``$PIXCLASS_TEST_POSTGRES_URL`` (default 127.0.0.1:5432, db ``test``), in a fresh
schema dropped afterwards. ``PIXCLASS_KILL_SEED`` repeats a sequence of moments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hostile"))
from killing import KillFigures  # noqa: E402
from test_kill_cli import kill_cli  # noqa: E402
from test_kill_serve import kill_serve  # noqa: E402
from test_kill_worker import kill_worker  # noqa: E402

POSTGRES_URL = os.environ.get(
    "PIXCLASS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLI_KINDS = ("ingest", "cluster", "export")


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'kill.db'}"
        return
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    schema = f"pixclass_kill_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_kind(kind: str, db: str, reps: int, cli_kinds: list[str]) -> list[KillFigures]:
    folder = Path(tempfile.mkdtemp(prefix=f"pixclass-kill-{kind}-{db}-"))
    try:
        with database(db, folder) as url:
            if kind == "serve":
                return [kill_serve(folder, url, reps)]
            if kind == "worker":
                return [kill_worker(folder, url, reps)]
            counts = {name: reps if name in cli_kinds else 0 for name in CLI_KINDS}
            found = kill_cli(folder, url, counts)
            return [found[name] for name in cli_kinds]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--kinds", default="serve,worker,ingest,cluster,export")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    cli_kinds = [kind for kind in CLI_KINDS if kind in kinds]
    groups = [kind for kind in ("serve", "worker") if kind in kinds]
    groups += ["cli"] if cli_kinds else []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    totals: list[KillFigures] = []
    for db in args.databases.split(","):
        for group in groups:
            started = time.monotonic()
            for figures in run_kind(group, db, args.reps, cli_kinds):
                totals.append(figures)
                print(figures.line(), *figures.notes, sep="\n    ", flush=True)
            print(f"    ({group} on {db}: {time.monotonic() - started:.0f} s, "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
    print("\nkind      database    reps  mid-way  lost  corrupt  stuck  left")
    for f in totals:
        print(
            f"{f.kind:<9} {f.database:<11} {f.repetitions:>4}  {f.killed_mid_way:>7}  "
            f"{f.lost:>4}  {f.corrupt:>7}  {f.stuck:>5}  {f.left:>4}"
        )


if __name__ == "__main__":
    main()
