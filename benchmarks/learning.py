"""A simulated person teaching pixclass: ACC after B corrections + learn, queue against random.

For each set: ingest it into a fresh store, cluster it with the defaults (ACC at B = 0), then for
each budget B a simulated person works B images and learns (``services.learn``):

* ``queue``: the review queue in its order (``services.review.teaching_queue``), taken once;
* ``random``: B images drawn at random (seed 0).

The person judges each image by its true label, as a person would by eye: the class a label
belongs in is the class the Hungarian matching of the first run gives it (the class holding most
of it when the matching left it out). An image already there is confirmed, any other is moved
there. After learning, ACC of the new run against the true labels is printed; then every
correction is undone (``undo``), so that each budget starts from the same run.

    .venv/bin/python benchmarks/learning.py --sets digits
    .venv/bin/python benchmarks/learning.py --sets trashnet blood-cells cifar10 --budgets 0 50 200
    .venv/bin/python benchmarks/learning.py --sets mnist          # 70,000 images: run it once

Prints a Markdown table (and the learn time of each run: the issue asks at most 3 min on 70k).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SETS = {
    "digits": "digits",
    "mnist": str(SHARED / "mnist"),
    "cifar10": str(SHARED / "cifar10-train-10k"),
    "trashnet": str(SHARED / "trashnet"),
    "blood-cells": str(SHARED / "blood-cells"),
}


def _acc(store, run_id: int, truth: dict[int, str]) -> float:  # type: ignore[no-untyped-def]
    from pixclass.evaluate.external import cluster_accuracy
    from pixclass.store.results import effective_classes

    rows = effective_classes(store, run_id)
    return float(cluster_accuracy([truth[r.image_id] for r in rows], [r.class_name for r in rows]))


def _home(store, run_id: int, truth: dict[int, str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The class each true label belongs in, as the person sees it."""
    from pixclass.evaluate.external import matched_labels
    from pixclass.store.results import effective_classes

    rows = [r for r in effective_classes(store, run_id) if r.cluster is not None]
    mapping = matched_labels([truth[r.image_id] for r in rows], [r.cluster for r in rows])
    home = {label: int(cluster) for cluster, label in mapping.items()}
    for label in set(truth.values()) - set(home):
        votes = Counter(r.cluster for r in rows if truth[r.image_id] == label)
        home[label] = int(votes.most_common(1)[0][0])
    return home


def _work(store, run_id: int, chosen: list[int], truth, home) -> None:  # type: ignore[no-untyped-def]
    """The simulated person's clicks: confirm where right, move where wrong."""
    from pixclass.services.corrections import confirm_images, move_images
    from pixclass.store.results import effective_classes

    current = {r.image_id: r.cluster for r in effective_classes(store, run_id)}
    right = [i for i in chosen if current.get(i) == home[truth[i]]]
    if right:
        confirm_images(store, run_id, right, who="simulated person")
    wrong: dict[int, list[int]] = {}
    for i in chosen:
        if current.get(i) != home[truth[i]]:
            wrong.setdefault(home[truth[i]], []).append(i)
    for cluster, ids in wrong.items():
        move_images(store, run_id, ids, cluster, who="simulated person")


def _undo_all(store, run_id: int) -> None:  # type: ignore[no-untyped-def]
    from pixclass.errors import NotFoundError
    from pixclass.services.corrections import undo_last_correction

    while True:
        try:
            undo_last_correction(store, run_id)
        except NotFoundError:
            return


def run_set(name: str, budgets: list[int], root: Path) -> list[dict]:
    from pixclass.config import Settings
    from pixclass.services.cluster import run_collection_clustering
    from pixclass.services.ingest import ingest
    from pixclass.services.learn import learn_run
    from pixclass.services.review import teaching_queue
    from pixclass.store import list_images, open_store

    out = []
    with open_store(Settings(data_dir=root / name)) as store:
        clock = time.perf_counter()
        ingest(store, SETS[name], name)
        truth = {im.id: str(im.known_label) for im in list_images(store, name)}
        run_id = run_collection_clustering(store, name, seed=0)
        seconds = time.perf_counter() - clock
        base = _acc(store, run_id, truth)
        print(f"{name}: {len(truth)} images, ACC {base:.3f} at B=0 ({seconds:.0f} s)", flush=True)
        out.append({"set": name, "B": 0, "queue": base, "random": base, "learn_s": 0.0})
        home = _home(store, run_id, truth)
        ids = sorted(truth)
        for budget in [b for b in budgets if b > 0]:
            row = {"set": name, "B": budget}
            picks = {
                "queue": [i.image_id for i in teaching_queue(store, run_id, limit=budget)],
                "random": list(np.random.default_rng(0).choice(ids, budget, replace=False)),
            }
            for how, chosen in picks.items():
                _work(store, run_id, [int(i) for i in chosen], truth, home)
                clock = time.perf_counter()
                learned = learn_run(store, run_id)
                row[f"{how}_learn_s"] = time.perf_counter() - clock
                row[how] = _acc(store, learned, truth)
                _undo_all(store, run_id)
                print(
                    f"  B={budget} {how}: ACC {row[how]:.3f} (learn {row[f'{how}_learn_s']:.0f} s)",
                    flush=True,
                )
            row["learn_s"] = max(row["queue_learn_s"], row["random_learn_s"])
            out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["digits"], choices=sorted(SETS))
    parser.add_argument("--budgets", nargs="+", type=int, default=[0, 50, 200, 1000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            rows += run_set(name, args.budgets, Path(tmp))
    print()
    print("| set | B | ACC queue + learn | ACC random + learn | queue - random | learn s (max) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['set']} | {r['B']} | {r['queue']:.3f} | {r['random']:.3f} | "
            f"{r['queue'] - r['random']:+.3f} | {r['learn_s']:.0f} |"
        )
    print(f"\n`{' '.join([Path(sys.executable).name, *sys.argv])}`")


if __name__ == "__main__":
    main()
