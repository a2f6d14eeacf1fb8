"""Accuracy benchmark: pixclass against k-means on raw pixels, on real labeled image sets.

Each configuration runs in its own process so that wall time and peak memory are its own.
Labels are used only to score the result.

    .venv/bin/python benchmarks/accuracy.py                 # every set, prints a markdown table
    .venv/bin/python benchmarks/accuracy.py --sets digits mnist --out benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"

# (set name, source for pixclass.io.load_source, the configurations to run)
SETS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "digits": ("digits", [("pixclass", "pixels", "auto"), ("kmeans-pixels", "pixels", "10")]),
    "mnist": (
        str(SHARED / "mnist"),
        [
            ("pixclass", "pixels", "auto"),
            ("pixclass", "auto", "auto"),
            ("kmeans-pixels", "pixels", "10"),
        ],
    ),
    "fashion-mnist": (
        "fashion-mnist",
        [
            ("pixclass", "pixels", "10"),
            ("pixclass", "pixels", "auto"),
            ("pixclass", "mobilenet_v2", "10"),
            ("kmeans-pixels", "pixels", "10"),
        ],
    ),
    "cifar10-10k": (
        str(SHARED / "cifar10-train-10k"),
        [
            ("pixclass", "pixels", "10"),
            ("pixclass", "pixels", "auto"),
            ("pixclass", "mobilenet_v2", "10"),
            ("pixclass", "mobilenet_v2", "auto"),
            ("pixclass", "auto", "10"),
            ("kmeans-pixels", "pixels", "10"),
        ],
    ),
}


def run_one(source: str, method: str, features: str, k: str, seed: int | None) -> dict:
    """One configuration, in this process; returns its scores, wall time and peak memory."""
    import numpy as np

    from pixclass.evaluate import evaluate_labels
    from pixclass.io import load_source

    start = time.perf_counter()
    images = load_source(source)
    if method == "pixclass":
        from pixclass.cluster import discover

        result = discover(
            images, features=features, n_clusters=k if k == "auto" else int(k), seed=seed
        )
        labels = result.labels
        features = str(result.params["features"])
    else:
        from sklearn.cluster import KMeans

        X = images.images.reshape(len(images), -1).astype(np.float32) / 255.0
        labels = KMeans(n_clusters=int(k), n_init=1, random_state=seed or 0).fit_predict(X)
    wall = time.perf_counter() - start
    assert images.labels is not None
    scores = evaluate_labels(images.labels, labels)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        **scores,
        "features": features,
        "wall_s": wall,
        "peak_mb": peak_kb / 1024,
        "n_images": len(images),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, help="Also write the table to this markdown file.")
    parser.add_argument("--one", nargs=4, metavar=("SOURCE", "METHOD", "FEATURES", "K"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one, seed=args.seed)))
        return

    header = (
        "| set | method | features | k | classes found | ACC | NMI | ARI | wall s | peak MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [header]
    print(header, flush=True)
    for name in args.sets:
        source, configs = SETS[name]
        for method, features, k in configs:
            cmd = [sys.executable, __file__, "--one", source, method, features, k]
            if args.seed is not None:
                cmd += ["--seed", str(args.seed)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-1:] or ["failed"]
                line = f"| {name} | {method} | {features} | {k} | error: {tail[0]} |||||"
            else:
                r = json.loads(done.stdout.strip().splitlines()[-1])
                used = features if r["features"] == features else f"{features}: {r['features']}"
                line = (
                    f"| {name} ({r['n_images']:,}) | {method} | {used} | {k} | "
                    f"{int(r['n_clusters'])} | {r['acc']:.3f} | {r['nmi']:.3f} | {r['ari']:.3f} | "
                    f"{r['wall_s']:.0f} | {r['peak_mb']:.0f} |"
                )
            lines.append(line)
            print(line, flush=True)
    if args.out:
        command = "python benchmarks/accuracy.py " + " ".join(sys.argv[1:])
        machine = f"{platform.machine()}, {platform.python_version()}"
        args.out.write_text(
            "# Accuracy benchmark\n\n"
            f"Produced by `{command}` on {time.strftime('%Y-%m-%d')} ({machine}, 2 cores).\n"
            "Wall time includes loading the images; peak memory is the process's maximum RSS.\n\n"
            + "\n".join(lines)
            + "\n"
        )


if __name__ == "__main__":
    main()
