"""Accuracy benchmark: pixclass against k-means on raw pixels, on real labeled image sets.

Each configuration runs in its own process so that wall time and peak memory are its own.
Labels are used only to score the result.

    .venv/bin/python benchmarks/accuracy.py                 # every set, prints a markdown table
    .venv/bin/python benchmarks/accuracy.py --sets digits mnist --out benchmarks/RESULTS.md
    .venv/bin/python benchmarks/accuracy.py --stability ../shared/data/mnist pixels auto
    .venv/bin/python benchmarks/accuracy.py --sets fashion-mnist --features mobilenet_v2

Methods: ``pixclass`` is the default pipeline (refinement on where it applies);
``pixclass-no-refine`` is the first clustering alone; ``pixclass-no-deskew`` is the default
without slant normalisation; ``pixclass-kmeans`` clusters the embedding with k-means instead of
the Gaussian mixture (``--method kmeans``); ``kmeans-pixels`` is k-means on raw pixels.
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
            ("pixclass-no-refine", "pixels", "auto"),
            ("pixclass-no-deskew", "pixels", "auto"),
            ("pixclass", "auto", "auto"),
            ("kmeans-pixels", "pixels", "10"),
        ],
    ),
    "fashion-mnist": (
        "fashion-mnist",
        [
            ("pixclass", "pixels", "10"),
            ("pixclass-no-deskew", "pixels", "10"),
            ("pixclass", "pixels", "auto"),
            ("pixclass", "mobilenet_v2", "10"),
            ("pixclass-no-refine", "mobilenet_v2", "10"),
            ("pixclass-kmeans", "mobilenet_v2", "10"),
            ("pixclass-kmeans-no-refine", "mobilenet_v2", "10"),
            ("pixclass", "mobilenet_v2", "auto"),
            ("kmeans-pixels", "pixels", "10"),
        ],
    ),
    "cifar10-10k": (
        str(SHARED / "cifar10-train-10k"),
        [
            ("pixclass", "pixels", "10"),
            ("pixclass", "pixels", "auto"),
            ("pixclass", "auto", "10"),
            ("pixclass", "mobilenet_v2", "auto"),
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
    if method.startswith("pixclass"):
        from pixclass.cluster import discover

        result = discover(
            images,
            features=features,
            n_clusters=k if k == "auto" else int(k),
            seed=seed,
            refine=False if method.endswith("-no-refine") else "auto",
            deskew=False if method == "pixclass-no-deskew" else "auto",
            method="kmeans" if method.startswith("pixclass-kmeans") else "gmm",
        )
        labels = result.labels
        features = str(result.params["features"])
        extra = _refinement_figures(images, result)
    else:
        from sklearn.cluster import KMeans

        X = images.images.reshape(len(images), -1).astype(np.float32) / 255.0
        labels = KMeans(n_clusters=int(k), n_init=1, random_state=seed or 0).fit_predict(X)
        extra = {}
    wall = time.perf_counter() - start - extra.pop("_extra_s", 0.0)
    assert images.labels is not None
    scores = evaluate_labels(images.labels, labels)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        **scores,
        "features": features,
        "wall_s": wall,
        "peak_mb": peak_kb / 1024,
        "n_images": len(images),
        **extra,
    }


def _refinement_figures(images, result) -> dict:  # type: ignore[no-untyped-def]
    """Plain (first clustering) scores beside the refined ones, accuracy by confidence band, and
    how often ``predict`` on the training images gives back their labels. Not in the wall time."""
    import numpy as np

    from pixclass.evaluate import evaluate_labels

    clock = time.perf_counter()
    truth = images.labels
    out: dict = {"refined": result.refinement is not None}
    if result.first_labels is not None:
        out["plain"] = evaluate_labels(truth, result.first_labels)
    mapped = _mapped(truth, result.labels)
    bands = []
    for low, high in ((0.9, 1.01), (0.7, 0.9), (0.5, 0.7), (0.0, 0.5)):
        rows = (result.confidence >= low) & (result.confidence < high)
        acc = float(np.mean(mapped[rows] == truth[rows])) if rows.any() else float("nan")
        bands.append(
            {"band": f"{low:.1f}-{min(high, 1.0):.1f}", "share": float(rows.mean()), "acc": acc}
        )
    out["bands"] = bands
    predicted, _ = result.model.predict(images.images)
    out["predict_agreement"] = float(np.mean(predicted == result.labels))
    out["_extra_s"] = time.perf_counter() - clock
    return out


def _mapped(truth, labels):  # type: ignore[no-untyped-def]
    """``labels`` renamed to the classes of ``truth`` they match best (Hungarian)."""
    import numpy as np

    from pixclass.evaluate.external import matched_labels

    match = matched_labels(truth, labels)
    return np.array([match.get(int(v), -(10**9)) for v in labels])


def stability(source: str, features: str, k: str) -> None:
    """Two unseeded runs (every core, different random streams): ARI and agreement between them."""
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    from pixclass.cluster import discover
    from pixclass.io import load_source

    images = load_source(source)
    n_clusters = k if k == "auto" else int(k)
    runs = [discover(images, features=features, n_clusters=n_clusters) for _ in range(2)]
    a, b = runs[0].labels, runs[1].labels
    agreement = float(np.mean(_mapped(a, b) == a))
    print(
        f"run-to-run ARI {adjusted_rand_score(a, b):.4f}, agreement {agreement:.4f} "
        f"({runs[0].n_clusters} and {runs[1].n_clusters} classes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--features", nargs="*", help="Only the configurations on these features (e.g. pixels)."
    )
    parser.add_argument("--out", type=Path, help="Also write the table to this markdown file.")
    parser.add_argument("--one", nargs=4, metavar=("SOURCE", "METHOD", "FEATURES", "K"))
    parser.add_argument(
        "--stability",
        nargs=3,
        metavar=("SOURCE", "FEATURES", "K"),
        help="Run pixclass twice on SOURCE and print the ARI between the two runs.",
    )
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one, seed=args.seed)))
        return
    if args.stability:
        stability(*args.stability)
        return

    header = (
        "| set | method | features | k | classes found | ACC | NMI | ARI | wall s | peak MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [header]
    details: list[str] = []
    print(header, flush=True)
    for name in args.sets:
        source, configs = SETS[name]
        for method, features, k in configs:
            if args.features and features not in args.features:
                continue
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
                details.append(_details(name, features, k, r))
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
            + "\n\n## Refinement, confidence bands, predict\n\n"
            + "\n".join(d for d in details if d)
            + "\n"
        )
    for d in details:
        if d:
            print(d)


def _details(name: str, features: str, k: str, r: dict) -> str:
    if "bands" not in r:
        return ""
    plain = r.get("plain")
    head = f"- {name}, {features}, k={k}: "
    if plain and r.get("refined"):
        head += f"plain ACC {plain['acc']:.4f} ({int(plain['n_clusters'])} classes) -> "
        head += f"refined {r['acc']:.4f}; "
    bands = ", ".join(
        f"conf {b['band']}: {b['share']:.1%} of images, ACC {b['acc']:.4f}" for b in r["bands"]
    )
    return head + bands + f"; predict() agrees with the labels on {r['predict_agreement']:.2%}"


if __name__ == "__main__":
    main()
