"""The development panel: pixclass with defaults on many kinds of image sets at once.

Every choice about defaults (the number of classes, the features, the clusterer) is judged here,
on all the sets together, never on the one it was made for. For each set: the classes found
against the truth, ACC/NMI/ARI with k found (defaults, nothing passed) and with k given, and the
time, over several unseeded runs (median and range). Labels only score.

    .venv/bin/python benchmarks/panel.py                       # every set, 5 runs each
    .venv/bin/python benchmarks/panel.py --sets digits mnist-500 three --runs 3
    .venv/bin/python benchmarks/panel.py --out benchmarks/PANEL.md

Each run is its own process, so wall time and peak memory are its own. The sets built from the
shared data stress the count: small sets, many small classes, a rare class, a union of domains.

The checks printed beside each set are the issue's: classes found within 20% of the truth (at
least 1) in at least 4 of 5 runs, and ACC with k found at least 0.9 x ACC with k given.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def _load(source: str):  # type: ignore[no-untyped-def]
    from pixclass.io import load_source

    return load_source(source)


def _subset(imageset, per_class: dict[int, int], seed: int = 0):  # type: ignore[no-untyped-def]
    """``per_class[c]`` images of each class ``c`` (a fixed draw), labels renumbered 0..k-1."""
    from pixclass.io.imageset import ImageSet

    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for new, (cls, n) in enumerate(per_class.items()):
        members = np.flatnonzero(imageset.labels == cls)
        rows.extend(rng.choice(members, n, replace=False))
        labels.extend([new] * n)
    order = rng.permutation(len(rows))
    take = np.asarray(rows)[order]
    return ImageSet(
        images=imageset.images[take],
        names=[imageset.names[i] for i in take],
        labels=np.asarray(labels)[order],
        source=imageset.source,
    )


def _gray28(imageset):  # type: ignore[no-untyped-def]
    from pixclass.io.load import reshape_set

    return reshape_set(imageset, "L", (28, 28))


def _union(parts):  # type: ignore[no-untyped-def]
    """Images of several sets as one set, each set's classes kept apart."""
    from pixclass.io.imageset import ImageSet

    images, names, labels, offset = [], [], [], 0
    for part in parts:
        images.append(part.images)
        names.extend(part.names)
        labels.append(part.labels + offset)
        offset += int(part.labels.max()) + 1
    rng = np.random.default_rng(0)
    order = rng.permutation(sum(len(n) for n in images))
    return ImageSet(
        images=np.concatenate(images)[order],
        names=[names[i] for i in order],
        labels=np.concatenate(labels)[order],
        source="union",
    )


def _each(n: int, k: int = 10) -> dict[int, int]:
    return dict.fromkeys(range(k), n)


def _forty():  # type: ignore[no-untyped-def]
    # 40 classes of 10 images: digits, clothes, photos, cells and materials, all gray 28 px.
    mnist, fashion = _load(str(SHARED / "mnist")), _load("fashion-mnist")
    cifar = _gray28(_load(str(SHARED / "cifar10-train-10k")))
    cells = _gray28(_load(str(SHARED / "blood-cells")))
    trash = _gray28(_load(str(SHARED / "trashnet")))
    parts = [
        _subset(mnist, _each(10)),
        _subset(fashion, _each(10)),
        _subset(cifar, _each(10)),
        _subset(cells, _each(10, 8)),
        _subset(trash, _each(10, 2)),
    ]
    return _union(parts)


def _imbalanced():  # type: ignore[no-untyped-def]
    per_class = _each(1000)
    per_class[7] = 100  # one class at a tenth of the others
    return _subset(_load(str(SHARED / "mnist")), per_class)


# name -> (builder, true number of classes)
SETS: dict[str, tuple[Callable[[], object], int]] = {
    "mnist": (lambda: _load(str(SHARED / "mnist")), 10),
    "fashion-mnist": (lambda: _load("fashion-mnist"), 10),
    "digits": (lambda: _load("digits"), 10),
    "cifar10-10k": (lambda: _load(str(SHARED / "cifar10-train-10k")), 10),
    "trashnet": (lambda: _load(str(SHARED / "trashnet")), 6),
    "blood-cells": (lambda: _load(str(SHARED / "blood-cells")), 8),
    "mnist-500": (lambda: _subset(_load(str(SHARED / "mnist")), _each(50)), 10),
    "mnist-2000": (lambda: _subset(_load(str(SHARED / "mnist")), _each(200)), 10),
    "union-20": (
        lambda: _union(
            [
                _subset(_load(str(SHARED / "mnist")), _each(1000)),
                _subset(_load("fashion-mnist"), _each(1000)),
            ]
        ),
        20,
    ),
    "three": (lambda: _subset(_load(str(SHARED / "mnist")), {0: 1000, 1: 1000, 7: 1000}), 3),
    "forty-by-ten": (_forty, 40),
    "imbalanced": (_imbalanced, 10),
}


def run_one(name: str, k: str) -> dict:
    """One unseeded default run on set ``name`` (``k`` "auto" or a number), in this process."""
    from pixclass.cluster import discover
    from pixclass.evaluate import evaluate_labels

    start = time.perf_counter()
    images = SETS[name][0]()
    result = discover(images, n_clusters="auto" if k == "auto" else int(k))  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    scores = evaluate_labels(images.labels, result.labels)  # type: ignore[attr-defined]
    return {
        **scores,
        "features": str(result.params["features"]),
        "wall_s": wall,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n_images": len(images),  # type: ignore[arg-type]
    }


def _runs(name: str, k: str, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        cmd = [sys.executable, __file__, "--one", name, k]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["failed"])[-1]
            print(f"  {name} k={k}: error: {tail}", file=sys.stderr, flush=True)
            continue
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def _spread(values: list[float], fmt: str = "{:.3f}") -> str:
    if not values:
        return "-"
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _row(name: str, truth: int, found: list[dict], given: list[dict]) -> str:
    counts = [int(r["n_clusters"]) for r in found]
    slack = max(1, round(0.2 * truth))
    near = sum(abs(c - truth) <= slack for c in counts)
    acc_found = [r["acc"] for r in found]
    acc_given = [r["acc"] for r in given]
    ratio = (
        statistics.median(acc_found) / statistics.median(acc_given)
        if acc_found and acc_given
        else float("nan")
    )
    count_ok = near >= max(1, int(np.ceil(0.8 * len(counts)))) if counts else False
    runs = found or given
    features = ", ".join(sorted({r["features"] for r in runs}))
    return (
        f"| {name} | {runs[0]['n_images'] if runs else 0:,} | {truth} | "
        f"{', '.join(map(str, counts)) or '-'} | "
        f"{near}/{len(counts)} {'ok' if count_ok else 'NO'} | "
        f"{_spread(acc_found)} | {_spread([r['nmi'] for r in found])} | "
        f"{_spread([r['ari'] for r in found])} | {_spread(acc_given)} | "
        f"{ratio:.2f} {'ok' if ratio >= 0.9 else 'NO'} | {features} | "
        f"{_spread([r['wall_s'] for r in runs], '{:.0f}')} | "
        f"{max((r['peak_mb'] for r in runs), default=0):.0f} |"
    )


HEADER = (
    "| set | images | true k | k found (each run) | within 20% | ACC (k found) | NMI | ARI | "
    "ACC (k given) | found/given | features | wall s | peak MB |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--runs", type=int, default=5, help="Unseeded runs per set and k.")
    parser.add_argument("--no-given", action="store_true", help="Skip the runs with k given.")
    parser.add_argument("--out", type=Path, help="Also write the table to this markdown file.")
    parser.add_argument("--one", nargs=2, metavar=("SET", "K"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    lines = [HEADER]
    print(HEADER, flush=True)
    for name in args.sets:
        truth = SETS[name][1]
        found = _runs(name, "auto", args.runs)
        given = [] if args.no_given else _runs(name, str(truth), args.runs)
        lines.append(_row(name, truth, found, given))
        print(lines[-1], flush=True)
    if args.out:
        command = "python benchmarks/panel.py " + " ".join(sys.argv[1:])
        machine = f"{platform.machine()}, Python {platform.python_version()}"
        args.out.write_text(
            "# Development panel\n\n"
            f"Produced by `{command}` on {time.strftime('%Y-%m-%d')} ({machine}, 2 cores). "
            "Defaults only; median (range) over unseeded runs; wall time includes loading.\n\n"
            + "\n".join(lines)
            + "\n"
        )


if __name__ == "__main__":
    main()
