"""The demo: MNIST 70k end to end, scored against the labels it never saw, one montage per class."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixclass.cluster import discover
from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.evaluate import evaluate_labels
from pixclass.io import ImageSet, download_dataset, find_mnist, load_dataset, load_idx_dir
from pixclass.io.montage import montage_png
from pixclass.io.results import write_assignments
from pixclass.progress import ProgressCallback


@dataclass
class DemoSummary:
    dataset: str
    labels: np.ndarray
    scores: dict[str, float]
    timings: dict[str, float]
    out_dir: Path


def find_demo_data(
    settings: Settings,
    data_path: str | None,
    allow_download: bool,
    progress: ProgressCallback | None,
    say: Callable[[str], None],
) -> ImageSet:
    """MNIST from the path given, the usual places, or a download; else the bundled digits."""
    if data_path:
        return load_idx_dir(data_path, "mnist")
    found = find_mnist(settings)
    if found is not None:
        say(f"MNIST found in {found}")
        return load_idx_dir(found, "mnist")
    if allow_download:
        dest = settings.data_dir / "datasets" / "mnist"
        say(f"MNIST not found locally; downloading it to {dest}")
        try:
            download_dataset("mnist", dest, progress=progress)
            return load_idx_dir(dest, "mnist")
        except InputError as exc:
            say(f"download failed: {exc}")
    say(
        "MNIST is not available here, so the demo runs on scikit-learn's bundled digits "
        "(1,797 8x8 images) instead. Give --data DIR to use MNIST IDX files."
    )
    return load_dataset("digits", settings)


def write_montages(images: ImageSet, labels: np.ndarray, confidence: np.ndarray, out: Path) -> None:
    """One PNG per class: its 64 most confident images, 8 to a row."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("class-*.png"):
        old.unlink()
    for c in np.unique(labels[labels >= 0]):
        rows = np.flatnonzero(labels == c)
        best = rows[np.argsort(-confidence[rows], kind="stable")[:64]]
        (out / f"class-{int(c):02d}.png").write_bytes(
            montage_png([images.images[i] for i in best], columns=8, cell=48)
        )


def run_demo(
    settings: Settings,
    *,
    data_path: str | None,
    out_dir: Path,
    n_clusters: int | str = "auto",
    allow_download: bool = True,
    progress: ProgressCallback | None = None,
    say: Callable[[str], None] = print,
) -> DemoSummary:
    start = time.perf_counter()
    images = find_demo_data(settings, data_path, allow_download, progress, say)
    say(f"discovering the classes in {len(images):,} {images.source} images (labels unseen)")
    result = discover(
        images, n_clusters=n_clusters, cache_dir=settings.cache_dir, progress=progress
    )
    if result.params.get("sample"):
        say(f"scale: {result.params['sample']}")
    if result.refinement is not None and result.first_labels is not None:
        first = (
            evaluate_labels(images.labels, result.first_labels)
            if images.labels is not None
            else None
        )
        if first is not None:
            say(f"first clustering ACC {first['acc']:.4f}; refined by the CNN (below)")
    timings = dict(result.timings)
    timings["total"] = time.perf_counter() - start
    assert images.labels is not None
    scores = evaluate_labels(images.labels, result.labels)
    write_montages(images, result.labels, result.confidence, out_dir)
    write_assignments(out_dir / "assignments.csv", images.names, result.labels, result.confidence)
    return DemoSummary(
        dataset=images.source,
        labels=result.labels,
        scores=scores,
        timings=timings,
        out_dir=out_dir,
    )
