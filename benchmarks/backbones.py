"""Which pretrained features cluster photos best: MobileNetV2 vs EfficientNet-Lite0/1/2, a
concatenation, and test-time augmentation (the average with the mirror image), with k given.

Embeddings are computed once per (set, backbone, input size) for the images and for their mirror
images and kept as ``.npy`` under --cache (default /work/cache/backbones), so scoring again, or
the clustering head (``benchmarks/head.py``), embeds nothing. Labels only score the result.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/backbones.py --embed-only
    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/backbones.py --sets trashnet

Scores are the default pipeline's clusterer on the features (``ImageClusterer`` with L2-scaled
rows: PCA, UMAP, Gaussian mixture), k given, mean of --seeds seeds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

# name -> (folder, k, working size for decoding: None keeps the loader's choice)
SETS: dict[str, tuple[Path, int, int | None]] = {
    "cifar10-10k": (SHARED / "cifar10-train-10k", 10, None),
    "trashnet": (SHARED / "trashnet", 6, None),
    "blood-cells": (SHARED / "blood-cells", 8, 256),
}
# backbone -> network input side (px); CIFAR's 32 px photos are blown up to it.
BACKBONES: dict[str, int] = {
    "mobilenet_v2": 160,
    "efficientnet_lite0": 224,
    "efficientnet_lite1": 240,
    "efficientnet_lite2": 260,
}


def load_set(name: str) -> tuple[np.ndarray, np.ndarray]:
    from pixclass.io import load_source

    folder, _, size = SETS[name]
    loaded = load_source(folder, size=size if size else "auto")
    assert loaded.labels is not None
    return loaded.images, np.asarray(loaded.labels)


def load_labels(name: str) -> np.ndarray:
    """Class ids in the loader's file order (the order the cached embeddings have)."""
    import csv

    folder = SETS[name][0]
    with open(folder / "labels.csv", newline="") as handle:
        rows = sorted((r["file"], r["label"]) for r in csv.DictReader(handle))
    names = sorted({label for _, label in rows})
    return np.array([names.index(label) for _, label in rows])


def cache_file(cache: Path, set_name: str, backbone: str, side: int, view: str) -> Path:
    return cache / f"{set_name}-{backbone}-{side}-{view}.npy"


def embed(cache: Path, set_name: str, backbone: str, side: int, images: np.ndarray) -> None:
    """Embed the images and their mirror images (each once), unless both are cached."""
    from pixclass.features import get_extractor

    extractor = None
    for view in ("plain", "flip"):
        path = cache_file(cache, set_name, backbone, side, view)
        if path.is_file():
            continue
        if extractor is None:
            extractor = get_extractor(
                backbone,
                image_size=(side, side),
                flip_average=False,
                onnx_cache_dir=cache.parent / "onnx",
            ).load()
        batch = images if view == "plain" else np.ascontiguousarray(images[:, :, ::-1])
        start = time.perf_counter()
        rows = extractor.transform(batch)
        rate = len(batch) / (time.perf_counter() - start)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path.with_suffix(".tmp.npy"), rows)
        os.replace(path.with_suffix(".tmp.npy"), path)
        print(f"embedded {set_name} {backbone}@{side} {view}: {rate:.1f} images/s", flush=True)


def features(cache: Path, set_name: str, backbones: list[str], tta: bool) -> np.ndarray:
    """L2-normalised embedding per backbone (mirror-averaged with ``tta``), concatenated."""
    parts = []
    for backbone in backbones:
        side = BACKBONES[backbone]
        rows = np.load(cache_file(cache, set_name, backbone, side, "plain"))
        if tta:
            rows = (rows + np.load(cache_file(cache, set_name, backbone, side, "flip"))) / 2
        parts.append(rows / np.linalg.norm(rows, axis=1, keepdims=True))
    return np.concatenate(parts, axis=1).astype(np.float32)


def score(X: np.ndarray, labels: np.ndarray, k: int, seeds: int) -> dict[str, float]:
    from pixclass.cluster.estimator import ImageClusterer
    from pixclass.evaluate import evaluate_labels

    runs = []
    for seed in range(seeds):
        clusterer = ImageClusterer(n_clusters=k, scale="l2", random_state=seed, n_jobs=1)
        runs.append(evaluate_labels(labels, clusterer.fit_predict(X)))
    return {m: float(np.mean([r[m] for r in runs])) for m in ("acc", "nmi", "ari")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/backbones"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--embed-only", action="store_true")
    args = parser.parse_args()
    for set_name in args.sets:
        images, labels = load_set(set_name)
        for backbone in args.backbones:
            embed(args.cache, set_name, backbone, BACKBONES[backbone], images)
        if args.embed_only:
            continue
        k = SETS[set_name][1]
        print(f"\n{set_name} ({len(labels)} images, k={k})")
        print("| features | TTA | ACC | NMI | ARI |\n|---|---|---|---|---|")
        combos = [[b] for b in args.backbones]
        if len(args.backbones) > 1:
            combos.append(list(args.backbones))
        for combo in combos:
            for tta in (False, True):
                s = score(features(args.cache, set_name, combo, tta), labels, k, args.seeds)
                print(
                    f"| {'+'.join(combo)} | {'flip' if tta else 'none'} | {s['acc']:.3f} | "
                    f"{s['nmi']:.3f} | {s['ari']:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
