"""MNIST through a folder of PNG files, with 100 corrupt files mixed in, against the IDX run.

Checks the foundation's figures: the folder run gives the same ACC within 0.01 as the IDX run,
every good file is listed in the output CSV, and all 100 corrupt files are reported with reasons.

    .venv/bin/python benchmarks/folder_mnist.py [--work /tmp/pixclass-bench-folder]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def pixclass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pixclass", *args], capture_output=True, text=True, check=False
    )


def corrupt_files(folder: Path, good: Path) -> list[str]:
    """100 broken files of five kinds, named so they sort among the good ones."""
    png = good.read_bytes()
    kinds = {
        "empty": b"",
        "text": b"not an image, just text\n",
        "truncated": png[: len(png) // 3],
        "garbage": os.urandom(300),
        "badheader": b"\x89PNG\r\n\x1a\n" + os.urandom(200),
    }
    names = []
    for i in range(100):
        kind = list(kinds)[i % len(kinds)]
        name = f"{i * 700:05d}-{kind}.png"
        (folder / name).write_bytes(kinds[kind])
        names.append(name)
    return names


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def score(assignments: Path, *how: str) -> float:
    done = pixclass("evaluate", str(assignments), *how)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return float(done.stdout.split("ACC")[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/pixclass-bench-folder"))
    args = parser.parse_args()
    work: Path = args.work
    export = work / "export"
    if not (export / "labels.csv").exists():
        done = pixclass("datasets", "export", str(MNIST), str(export), "--overwrite")
        if done.returncode != 0:
            raise SystemExit(done.stderr)
    mixed = work / "mixed"
    if mixed.exists():
        subprocess.run(["rm", "-rf", str(mixed)], check=True)
    mixed.mkdir(parents=True)
    good_files = sorted((export / "images").glob("*.png"))
    for path in good_files:
        os.link(path, mixed / path.name)
    bad = corrupt_files(mixed, good_files[0])

    start = time.perf_counter()
    idx_out = work / "idx.csv"
    done = pixclass("cluster", str(MNIST), "-o", str(idx_out), "-q")
    idx_wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    idx_acc = score(idx_out, "--dataset", "mnist")

    start = time.perf_counter()
    folder_out = work / "folder.csv"
    done = pixclass("cluster", str(mixed), "-o", str(folder_out), "-q")
    folder_wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    folder_acc = score(folder_out, "--labels", str(export / "labels.csv"))
    rows = read_csv(folder_out)
    errors = read_csv(work / "folder.errors.csv")
    listed = {r["path"] for r in rows}
    reported = {e["path"]: e["reason"] for e in errors}

    print(f"IDX run:    ACC {idx_acc:.4f}  ({idx_wall:.0f} s)")
    print(
        f"folder run: ACC {folder_acc:.4f}  ({folder_wall:.0f} s, {len(good_files)} PNG + 100 bad)"
    )
    print(f"ACC difference: {abs(folder_acc - idx_acc):.4f} (target <= 0.01)")
    print(
        f"good files listed in the CSV: {len(listed & {p.name for p in good_files})} "
        f"of {len(good_files)}; rows {len(rows)}"
    )
    print(
        f"corrupt files reported: {len(set(bad) & set(reported))} of 100, "
        f"all with a reason: {all(reported.get(b) for b in bad)}; none in the CSV: "
        f"{not (set(bad) & listed)}"
    )
    for reason in sorted({reported[b] for b in bad if b in reported})[:6]:
        print(f"  e.g. {reason}")


if __name__ == "__main__":
    main()
