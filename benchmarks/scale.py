"""Scale benchmark: time and peak memory as the collection grows, on each engine.

Synthetic 512-d embeddings with known clusters (20 Gaussian blobs of unequal sizes) at 10k, 100k
and 1M rows, through:

* ``sklearn-kmeans``: plain scikit-learn, ``KMeans(k)`` on every row, k given;
* ``pixclass``: the pipeline on one machine, k found -- fit on a 30,000-row sample (PCA, UMAP,
  choose k, mixture), every row assigned in batches through the faiss neighbour vote
  (``pixclass.cluster.sample``); classes + assignments;
* ``faiss-kmeans``: faiss's k-means on every row, k given;
* ``spark-mllib``: Spark local[2], k found on a driver sample, MLlib KMeans on every row (the
  ``--engine spark`` path for a Parquet table of embeddings); the table is written before the
  clock starts.

MNIST 70k through each engine (``--mnist``): the local default, the local run fitted on a
30,000-image sample, and ``--engine spark`` in local mode on the PNG files. ``--predict``:
classify 100,000 new images against a model fitted on 1,000,000 images (MNIST shifted by up to
2 px), on pixel features. Each configuration runs in its own process, so its wall time and peak
memory (max RSS of the process and, for Spark, of its JVM) are its own. The 1-minute load
average is printed beside each timing: the machine is shared.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/scale.py --synthetic
    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/scale.py --mnist --predict
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/scale.py --mnist local spark --timeout 1800
    .venv/bin/python benchmarks/scale.py --plot results.jsonl benchmarks/scale.png
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"
SIZES = (10_000, 100_000, 1_000_000)
ENGINES = ("sklearn-kmeans", "pixclass", "faiss-kmeans", "spark-mllib")
N_BLOBS = 20
DIM = 512
STAGES: dict[str, float] = {}  # seconds per stage of the last pixclass run


def blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ``DIM`` floats around ``N_BLOBS`` centres (sizes differ up to 3x)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.5, (N_BLOBS, DIM)).astype(np.float32)
    weights = rng.uniform(1, 3, N_BLOBS)
    truth = rng.choice(N_BLOBS, n, p=weights / weights.sum())
    X = np.empty((n, DIM), np.float32)
    for start in range(0, n, 100_000):  # in chunks: float64 noise for 1M rows would be 4 GB
        part = slice(start, min(start + 100_000, n))
        X[part] = centres[truth[part]] + rng.standard_normal((len(X[part]), DIM), np.float32)
    return X, truth


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def run_synthetic(engine: str, n: int) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score

    X, truth = blobs(n)
    parquet = None
    if engine == "spark-mllib":
        parquet = _write_parquet(X)
        del X
    start = time.perf_counter()
    labels, k = _cluster(engine, X if parquet is None else None, parquet)
    wall = time.perf_counter() - start
    return {
        "kind": "synthetic",
        "engine": engine,
        "n": n,
        "wall_s": wall,
        "peak_mb": peak_mb(),
        "ari": float(adjusted_rand_score(truth, labels)),
        "k": k,
        "stages": {name: round(value, 1) for name, value in STAGES.items()},
    }


def _cluster(engine: str, X: np.ndarray | None, parquet: str | None) -> tuple[np.ndarray, int]:
    if engine == "sklearn-kmeans":
        from sklearn.cluster import KMeans

        km = KMeans(N_BLOBS, n_init=1, random_state=0).fit(X)
        return km.labels_, N_BLOBS
    if engine == "faiss-kmeans":
        from pixclass.cluster.index import kmeans

        assert X is not None
        return kmeans(X, N_BLOBS, seed=0)[1], N_BLOBS
    if engine == "pixclass":
        from pixclass.cluster import ImageClusterer
        from pixclass.cluster.sample import fit_on_sample

        assert X is not None
        data = X
        estimator = ImageClusterer(scale="none")
        fit_on_sample(estimator, lambda idx: data[idx], len(data))
        STAGES.update(estimator.timings_)
        return estimator.labels_, estimator.n_clusters_
    if engine == "spark-mllib":
        return _spark_mllib(str(parquet))
    raise SystemExit(f"unknown engine {engine}")


def _write_parquet(X: np.ndarray) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(tempfile.mkdtemp(prefix="pixclass-scale-")) / "embeddings.parquet"
    with pq.ParquetWriter(
        path, pa.schema([("id", pa.int64()), ("features", pa.list_(pa.float32()))])
    ) as w:
        for start in range(0, len(X), 50_000):
            part = X[start : start + 50_000]
            values = pa.array(part.reshape(-1))
            lists = pa.FixedSizeListArray.from_arrays(values, DIM).cast(pa.list_(pa.float32()))
            ids = pa.array(np.arange(start, start + len(part)))
            w.write_table(pa.table({"id": ids, "features": lists}))
    return str(path)


def _spark_mllib(parquet: str) -> tuple[np.ndarray, int]:
    from pixclass.spark.mllib import classes_on_sample, cluster_embeddings
    from pixclass.spark.session import spark_session

    spark = spark_session("local[2]", app_name="pixclass-scale")
    spark.sparkContext.setLogLevel("ERROR")
    frame = spark.read.parquet(parquet)
    k = classes_on_sample(frame, seed=0)
    assigned, _ = cluster_embeddings(frame, k, seed=0)
    out = parquet + ".assigned"
    assigned.select("id", "cluster").write.mode("overwrite").parquet(out)
    import pyarrow.parquet as pq

    table = pq.read_table(out).sort_by("id")
    labels = table.column("cluster").to_numpy()
    spark.stop()
    return labels, k


def run_mnist(engine: str) -> dict[str, Any]:
    from pixclass.evaluate import evaluate_labels
    from pixclass.io import load_source

    start = time.perf_counter()
    if engine == "spark":
        return _mnist_spark(start)
    from pixclass.cluster import discover

    images = load_source(str(MNIST))
    result = discover(images, sample=30_000 if engine == "local-sample" else False)
    wall = time.perf_counter() - start
    scores = evaluate_labels(images.labels, result.labels)
    return {
        "kind": "mnist",
        "engine": engine,
        "n": len(result.labels),
        "wall_s": wall,
        "peak_mb": peak_mb(),
        "acc": scores["acc"],
        "ari": scores["ari"],
        "k": result.n_clusters,
        "timings": result.timings,
    }


def _mnist_spark(start: float) -> dict[str, Any]:
    """MNIST exported as PNG files (not timed), then ``cluster_with_spark`` in local[2]."""
    from pixclass.evaluate import evaluate_labels
    from pixclass.io.results import read_labels
    from pixclass.spark.engine import cluster_with_spark
    from pixclass.spark.session import spark_session

    export = Path(tempfile.gettempdir()) / "pixclass-scale-mnist"
    if not (export / "labels.csv").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pixclass",
                "datasets",
                "export",
                str(MNIST),
                str(export),
                "--overwrite",
            ],
            check=True,
            capture_output=True,
        )
    truth = {Path(k).name: v for k, v in read_labels(export / "labels.csv").items()}
    spark = spark_session("local[2]", app_name="pixclass-scale-mnist")
    spark.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter()
    out = Path(tempfile.mkdtemp(prefix="pixclass-scale-")) / "mnist.csv"
    run = cluster_with_spark(spark, str(export / "images"), out)
    wall = time.perf_counter() - start
    import csv

    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    known = [int(truth[Path(r["path"]).name]) for r in rows]
    scores = evaluate_labels(np.array(known), np.array([int(r["cluster"]) for r in rows]))
    spark.stop()
    return {
        "kind": "mnist",
        "engine": "spark",
        "n": len(rows),
        "wall_s": wall,
        "peak_mb": peak_mb(),
        "acc": scores["acc"],
        "ari": scores["ari"],
        "k": len(run.sizes),
        "timings": run.timings,
    }


def run_predict(n_fit: int = 1_000_000, n_new: int = 100_000) -> dict[str, Any]:
    """Fit on ``n_fit`` shifted MNIST images (pixel features), then classify ``n_new`` more."""
    from pixclass.cluster import discover
    from pixclass.io import load_source

    base = load_source(str(MNIST)).images
    rng = np.random.default_rng(0)

    def shifted(n: int) -> np.ndarray:
        out = base[rng.integers(0, len(base), n)]
        dy, dx = rng.integers(-2, 3, 2)
        return np.roll(out, (int(dy), int(dx)), axis=(1, 2))

    images = np.concatenate([shifted(50_000) for _ in range(n_fit // 50_000)])
    start = time.perf_counter()
    result = discover(images, features="pixels", refine=False, deskew=False)
    fit_s = time.perf_counter() - start
    new = shifted(n_new)
    start = time.perf_counter()
    for part in range(0, n_new, 10_000):
        result.model.predict(new[part : part + 10_000])
    predict_s = time.perf_counter() - start
    return {
        "kind": "predict",
        "engine": "pixclass",
        "n": n_fit,
        "fit_s": fit_s,
        "wall_s": predict_s,
        "images_per_s": n_new / predict_s,
        "peak_mb": peak_mb(),
        "k": result.n_clusters,
        "timings": result.timings,
    }


def child(args: list[str], timeout: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--one", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"args": args, "error": f"over {timeout} s", "load_before": load}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"args": args, "error": done.stderr.strip().splitlines()[-1:], "load_before": load}
    record = json.loads(lines[-1])
    record.update(load_before=load, load_after=os.getloadavg()[0])
    return record


def plot(jsonl: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for engine in ENGINES:
        points = sorted(
            (r["n"], r["wall_s"])
            for r in records
            if r.get("kind") == "synthetic" and r.get("engine") == engine
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=engine)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rows (512-d embeddings, 20 clusters)")
    ax.set_ylabel("wall time, s (2 shared cores)")
    ax.set_title("pixclass scale benchmark: time against N")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def table(jsonl: Path) -> str:
    """The records as the markdown table of ``benchmarks/RESULTS.md``."""
    lines = [
        "| set | engine | N | k found | ARI | ACC | wall s | peak MB | load (1 min) | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for line in jsonl.read_text().splitlines():
        r = json.loads(line)
        if "error" in r:
            lines.append(f"| {' '.join(r['args'])} | | | | | | {r['error']} | | | |")
            continue
        acc = f"{r['acc']:.4f}" if "acc" in r else ""
        ari = f"{r['ari']:.3f}" if "ari" in r else ""
        note = ", ".join(
            f"{k} {v:.0f}" for k, v in (r.get("stages") or r.get("timings") or {}).items()
        )
        if r["kind"] == "predict":
            note = f"fit {r['fit_s']:.0f} s; {r['images_per_s']:,.0f} images/s"
        load = f"{r['load_before']:.1f}-{r['load_after']:.1f}"
        lines.append(
            f"| {r['kind']} | {r['engine']} | {r['n']:,} | {r.get('k', '')} | {ari} | {acc} | "
            f"{r['wall_s']:.1f} | {r['peak_mb']:.0f} | {load} | {note} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--engines", nargs="*", default=list(ENGINES))
    parser.add_argument("--mnist", nargs="*", default=None, help="local, local-sample, spark")
    parser.add_argument("--predict", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("scale-results.jsonl"))
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--plot", nargs=2, type=Path, metavar=("JSONL", "PNG"))
    parser.add_argument("--table", type=Path, metavar="JSONL")
    args = parser.parse_args()
    if args.one:
        kind, *rest = args.one
        if kind == "synthetic":
            print(json.dumps(run_synthetic(rest[0], int(rest[1]))))
        elif kind == "mnist":
            print(json.dumps(run_mnist(rest[0])))
        else:
            print(json.dumps(run_predict()))
        return
    if args.plot:
        plot(*args.plot)
        return
    if args.table:
        print(table(args.table))
        return
    jobs = []
    if args.synthetic:
        jobs += [["synthetic", e, str(n)] for n in args.sizes for e in args.engines]
    if args.mnist is not None:
        jobs += [["mnist", e] for e in (args.mnist or ["local", "local-sample", "spark"])]
    if args.predict:
        jobs.append(["predict"])
    acc: dict[str, float] = {}
    for job in jobs:
        record = child(job, args.timeout)
        print(json.dumps(record), flush=True)
        with args.out.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        if record.get("kind") == "mnist" and "acc" in record:
            acc[record["engine"]] = record["acc"]
            print(f"MNIST {record['engine']}: ACC {record['acc']:.4f}", flush=True)
    if "spark" in acc and "local" in acc:
        gap = acc["spark"] - acc["local"]
        print(f"MNIST spark ACC - local ACC = {gap:+.4f} (target: within 0.01)", flush=True)


if __name__ == "__main__":
    main()
