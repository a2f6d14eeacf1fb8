"""Does "unknown" mean unknown? Images a model should refuse, and images it should not.

Two models, each fitted with ``discover`` defaults (``--refine`` off unless asked: the unknown
rule is the clusterer's either way):

* an MNIST model (the first ``--mnist-fit`` training digits), asked about MNIST test digits
  (in domain) and natural photos (out): CIFAR-10 and trashnet photos from ../shared/data and
  skimage's sample photos;
* a CIFAR-10 model (the first ``--cifar-fit`` photos of cifar10-train-10k), asked about the next
  ``--cifar-held`` photos, never fitted on (in domain), and MNIST test digits (out).

Prints the share marked unknown under the calibrated rule (``pixclass.cluster.unknown``) and,
for comparison, under the rule before it (PCA distance only, 0.999 quantile), and how many
in-domain images known under both rules kept their label.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/unknown.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "camera",
    "coins",
    "moon",
    "page",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "cat",
    "brick",
    "grass",
    "gravel",
    "colorwheel",
    "logo",
    "text",
)


def folder_photos(name: str, start: int, stop: int, size: int = 64) -> np.ndarray:
    """Photos ``start:stop`` of a ../shared/data folder, RGB, resized to ``size`` px."""
    from PIL import Image

    rows = (DATA / name / "labels.csv").read_text().splitlines()[1:][start:stop]
    images = []
    for row in rows:
        with Image.open(DATA / name / "images" / row.split(",")[0]) as image:
            images.append(np.asarray(image.convert("RGB").resize((size, size))))
    return np.stack(images)


def skimage_photos(size: int = 64) -> np.ndarray:
    import skimage.data
    from PIL import Image

    out = []
    for name in SKIMAGE_PHOTOS:
        array = np.asarray(getattr(skimage.data, name)())
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=-1)
        image = Image.fromarray(array[..., :3].astype(np.uint8))
        out.append(np.asarray(image.resize((size, size))))
    return np.stack(out)


def mnist(split: str, n: int) -> np.ndarray:
    from pixclass.io import read_idx

    prefix = "train" if split == "train" else "t10k"
    return read_idx(DATA / "mnist" / f"{prefix}-images-idx3-ubyte.gz")[:n]


def rules(model: Any, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels under the calibrated rule, labels under the rule before it) for ``images``,
    embedding them once."""
    clusterer, predictor = model.clusterer, model.clusterer.predictor_
    prepared = model.prepare(images)
    features = model.extractor.transform(prepared)
    labels, _ = clusterer.predict_with_confidence(features)
    # The rule before: nearest PCA distance over the 0.999 quantile of the training rows'.
    before = predictor._unknown_distance(0.999, predictor.random_state)
    dists, idx = predictor._search(clusterer.reduction_.to_pca(features), predictor.n_neighbors)
    old, _ = predictor.vote(dists, idx, unknown=False)
    old = np.where(dists[:, 0] > before, -1, old)
    if model.refiner is not None:  # the refined network names the class of the known ones
        proba = model.refiner.predict_proba(prepared)
        labels = np.where(labels < 0, -1, proba.argmax(axis=1))
        old = np.where(old < 0, -1, proba.argmax(axis=1))
    return labels, old


def report(name: str, labels: np.ndarray, old: np.ndarray, in_domain: bool) -> float:
    share, share_old = float(np.mean(labels < 0)), float(np.mean(old < 0))
    line = f"  {name:<34} {len(labels):>6}  unknown {share:6.1%}  (rule before: {share_old:6.1%})"
    if in_domain:
        both = (labels >= 0) & (old >= 0)
        line += f"  same label where both known: {np.mean(labels[both] == old[both]):.1%}"
    print(line, flush=True)
    return share


def main() -> None:
    from pixclass.cluster import discover

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-fit", type=int, default=6000)
    parser.add_argument("--mnist-test", type=int, default=2000)
    parser.add_argument("--digits", type=int, default=1000, help="MNIST digits for CIFAR model")
    parser.add_argument("--cifar-fit", type=int, default=4000)
    parser.add_argument("--cifar-held", type=int, default=1000)
    parser.add_argument("--photos", type=int, default=500, help="CIFAR and trashnet photos each")
    parser.add_argument("--refine", action="store_true", help="Refine as the defaults would.")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/pixclass-bench-cache"))
    parser.add_argument("--skip", choices=["mnist", "cifar"], default=None)
    args = parser.parse_args()
    refine = "auto" if args.refine else False
    figures: dict[str, float] = {}

    if args.skip != "mnist":
        start = time.perf_counter()
        fitted = discover(mnist("train", args.mnist_fit), seed=0, refine=refine)
        model = fitted.model
        print(
            f"MNIST model: {args.mnist_fit} training digits, {fitted.params['features']} features, "
            f"{fitted.n_clusters} classes ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        figures["mnist: MNIST test digits"] = report(
            "MNIST test digits (in domain)", *rules(model, mnist("test", args.mnist_test)), True
        )
        photos = [
            ("CIFAR-10 photos", folder_photos("cifar10-train-10k", 0, args.photos)),
            ("trashnet photos", folder_photos("trashnet", 0, args.photos)),
            ("skimage sample photos", skimage_photos()),
        ]
        shares = [report(name, *rules(model, x), False) for name, x in photos]
        counts = [len(x) for _, x in photos]
        figures["mnist: natural photos"] = float(np.average(shares, weights=counts))

    if args.skip != "cifar":
        start = time.perf_counter()
        end = args.cifar_fit + args.cifar_held
        photos_fit = folder_photos("cifar10-train-10k", 0, args.cifar_fit, size=32)
        fitted = discover(photos_fit, seed=0, refine=refine, cache_dir=args.cache)
        model = fitted.model
        print(
            f"CIFAR-10 model: {args.cifar_fit} photos, {fitted.params['features']} features, "
            f"{fitted.n_clusters} classes ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        held = folder_photos("cifar10-train-10k", args.cifar_fit, end, size=32)
        figures["cifar: held-out CIFAR photos"] = report(
            "held-out CIFAR-10 photos (in domain)", *rules(model, held), True
        )
        figures["cifar: MNIST digits"] = report(
            "MNIST test digits", *rules(model, mnist("test", args.digits)), False
        )

    print("\nfigure                              unknown  target")
    targets = {
        "mnist: natural photos": ">= 90%",
        "mnist: MNIST test digits": "<= 5%",
        "cifar: MNIST digits": ">= 80%",
        "cifar: held-out CIFAR photos": "<= 10%",
    }
    for name, share in figures.items():
        print(f"{name:<35} {share:6.1%}  {targets[name]}")


if __name__ == "__main__":
    main()
