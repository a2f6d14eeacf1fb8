"""``pixclass cluster | predict | evaluate | demo``: the unsupervised pipeline from the shell."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import click
import numpy as np
from rich.table import Table

from pixclass.cli.common import err_console, get_settings, out_console, progress_bars, user_errors
from pixclass.errors import InputError
from pixclass.services.options import check_cluster_options, check_n_clusters


def parse_k(value: str) -> int | str:
    """``--k`` through the one clustering-option validator (an error names what is accepted)."""
    return check_n_clusters(value)


def print_summary(labels: np.ndarray, timings: dict[str, float], names: dict[int, str]) -> None:
    ids, counts = np.unique(labels, return_counts=True)
    table = Table(title=f"{int((ids >= 0).sum())} classes found", title_justify="left")
    table.add_column("class", justify="right")
    table.add_column("name")
    table.add_column("images", justify="right")
    table.add_column("share", justify="right")
    for i, c in zip(ids, counts, strict=True):
        label = "unknown" if i < 0 else str(int(i))
        table.add_row(label, names.get(int(i), ""), str(int(c)), f"{c / len(labels):.1%}")
    err_console.print(table)
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items() if k != "total")
    err_console.print(f"time: {timings.get('total', 0):.1f}s ({stages})")


def counts_line(n_clusters: int, clusterer: Any) -> str:
    """ "10 classes; 6 and 14 also fit": the chosen count and the others the fit saw evidence for,
    so a person who wants a coarser or finer cut knows where to look."""
    from pixclass.cluster.recut import counts_text, plausible_counts

    return counts_text(n_clusters, plausible_counts(clusterer))


def print_scores(scores: dict[str, float]) -> None:
    err_console.print(
        f"ACC {scores['acc']:.4f}  NMI {scores['nmi']:.4f}  ARI {scores['ari']:.4f}  "
        f"({int(scores['n_clusters'])} clusters, {int(scores['n_classes'])} classes)"
    )


@click.command()
@click.argument("source", required=False)
@click.option("--collection", help="Cluster the images stored in this collection instead.")
@click.option("--k", "k", default="auto", show_default=True, help="Number of classes, or 'auto'.")
@click.option(
    "--features",
    default="auto",
    show_default=True,
    help="Feature extractor (pixels, hog, mobilenet_v2, efficientnet_lite0, ...), "
    "onnx:PATH for your own ONNX image model (input convention: docs/features.md), or 'auto': "
    "the one that separates a sample of the images better, pixels or mobilenet_v2.",
)
@click.option(
    "--embeddings",
    type=click.Path(dir_okay=False),
    help="Precomputed vectors to cluster instead of extracting features: .npy (one row per "
    "image, in file order) or .csv/.parquet with a file column (docs/features.md).",
)
@click.option(
    "--method",
    type=click.Choice(["gmm", "kmeans", "hdbscan", "agglomerative"]),
    default="gmm",
    show_default=True,
    help="Clustering of the embedding. With --k given and touching classes (clothing), kmeans "
    "is the steadier choice.",
)
@click.option("--seed", type=int, default=None, help="Seed for repeatable runs (slower: 1 core).")
@click.option(
    "--refine/--no-refine",
    "refine",
    default=None,
    help="Self-train a small CNN on the surest assignments and relabel every image. Default: on "
    "for pixel features and for grayscale images when torch is installed.",
)
@click.option(
    "--deskew/--no-deskew",
    "deskew",
    default=None,
    help="Shear each image upright by its moments first. Default: on for grayscale images on "
    "pixel features that lean (median slant >= 0.15, as handwriting does).",
)
@click.option(
    "--output",
    "-o",
    default="assignments.csv",
    show_default=True,
    help="CSV with path,cluster,confidence per image ('-' for stdout).",
)
@click.option("--model-out", type=click.Path(dir_okay=False), help="Save the model here.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="spark: read, embed and assign on Spark (docs/scale.md); needs pixclass[spark].",
)
@click.pass_context
def cluster(
    ctx: click.Context,
    source: str | None,
    collection: str | None,
    k: str,
    features: str,
    embeddings: str | None,
    method: str,
    seed: int | None,
    refine: bool | None,
    deskew: bool | None,
    output: str,
    model_out: str | None,
    quiet: bool,
    engine: str,
) -> None:
    """Discover the classes in SOURCE: a folder, a .zip, or a dataset (mnist, fashion-mnist,
    digits, or a folder of IDX files).

    Writes one CSV row per image (path,cluster,confidence); files that cannot be read are listed
    on stderr and in <output>.errors.csv, and never stop the run.
    """
    settings = get_settings(ctx)
    with user_errors():
        options = check_cluster_options(
            {
                "n_clusters": k,
                "features": features,
                "method": method,
                "seed": seed,
                "refine": "auto" if refine is None else refine,
                "deskew": "auto" if deskew is None else deskew,
            }
        )
        if embeddings and (collection or engine == "spark"):
            raise InputError("--embeddings works with a SOURCE on the local engine only")
        if collection:
            _cluster_collection(settings, collection, options, quiet)
            return
        if not source:
            raise InputError("give a SOURCE (folder, .zip or dataset name) or --collection NAME")
        if engine == "spark":
            from pixclass.cli.engine_spark import cluster_on_spark

            with progress_bars(not quiet) as bars:
                spark_options = (features, method, seed, refine, deskew)
                cluster_on_spark(
                    source, output, options["n_clusters"], spark_options, model_out, bars
                )
            return
        _cluster_source(settings, source, options, output, model_out, quiet, embeddings)


def _cluster_source(
    settings: Any,
    source: str,
    options: dict[str, Any],
    output: str,
    model_out: str | None,
    quiet: bool,
    embeddings: str | None = None,
) -> None:
    """Cluster the images of a folder, zip or dataset and write the assignments CSV."""
    from pixclass.cluster import discover
    from pixclass.evaluate import evaluate_labels
    from pixclass.io import load_source
    from pixclass.io.embeddings import read_embeddings
    from pixclass.io.results import write_assignments

    start = time.perf_counter()
    with progress_bars(not quiet) as progress:
        images = load_source(source, settings=settings, progress=progress)
        vectors = read_embeddings(embeddings, images.names) if embeddings else None
        result = discover(
            images,
            **options,
            embeddings=vectors,
            cache_dir=settings.cache_dir,
            progress=progress,
        )
    _print_notes(result)
    result.timings["load"] = time.perf_counter() - start - result.timings["total"]
    result.timings["total"] = time.perf_counter() - start
    write_assignments(output, images.names, result.labels, result.confidence)
    _report_skipped(images.skipped, output)
    if model_out:
        result.model.save(model_out)
    print_summary(result.labels, result.timings, {})
    err_console.print(counts_line(result.n_clusters, result.model.clusterer), highlight=False)
    if images.labels is not None and (images.labels >= 0).any():
        known = images.labels >= 0
        print_scores(evaluate_labels(images.labels[known], result.labels[known]))
    if output != "-":
        err_console.print(f"assignments: {output}" + (f", model: {model_out}" if model_out else ""))


def _print_notes(result: Any) -> None:
    """What the run decided on its own: consensus, refinement, features."""
    consensus = result.params.get("consensus") or {}
    if consensus.get("runs", 1) > 1:
        err_console.print(
            f"consensus of {consensus['runs']} runs: they agree on "
            f"{consensus['unanimous']:.1%} of the images",
            highlight=False,
        )
    if result.params.get("sample"):
        err_console.print(f"scale: {result.params['sample']}", highlight=False)
    if result.refinement:
        err_console.print(f"refinement: {_refinement_line(result)}", highlight=False)
    if result.params.get("features_reason"):
        err_console.print(
            f"features: {result.params['features']} — {result.params['features_reason']}",
            highlight=False,
            soft_wrap=True,
        )


def _report_skipped(skipped: list[Any], output: str) -> None:
    from pixclass.io.results import errors_path, write_skipped

    if not skipped:
        return
    report = errors_path(output if output != "-" else "assignments.csv")
    write_skipped(report, skipped)
    for item in skipped:
        err_console.print(f"skipped {item.path}: {item.reason}", highlight=False)
    err_console.print(f"[yellow]{len(skipped)} file(s) skipped[/]; reasons in {report}")


def _refinement_line(result: Any) -> str:
    assert result.first_labels is not None and result.refinement is not None
    changed = float(np.mean(result.first_labels != result.labels))
    return f"{changed:.1%} of the images relabelled; {result.refinement['stopped']}"


def _cluster_collection(
    settings: Any, collection: str, options: dict[str, Any], quiet: bool
) -> None:
    """Cluster a stored collection (every option and the embedding cache reach the run)."""
    from pixclass.services.cluster import run_collection_clustering
    from pixclass.services.collections import open_store

    with open_store(settings) as store, progress_bars(not quiet) as progress:
        run_id = run_collection_clustering(
            store, collection, **options, cache_dir=settings.cache_dir, progress=progress
        )
    err_console.print(f"run {run_id} stored; see `pixclass runs show {run_id}`")


@click.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("images", nargs=-1, required=True)
@click.option("--output", "-o", help="Also write path,cluster,confidence rows to this CSV.")
def predict(model_path: str, images: tuple[str, ...], output: str | None) -> None:
    """Classify IMAGE files with a saved MODEL: class and confidence per image.

    Class -1 ("unknown") means the image is unlike every class the model learned.
    """
    from pixclass.cluster import load_model
    from pixclass.io import find_images
    from pixclass.io.decode import ImageReadError, decode_image
    from pixclass.io.results import write_assignments

    with user_errors():
        model = load_model(model_path)
        entries, skipped = find_images(list(images))
        names, arrays = [], []
        mode: Literal["L", "RGB"] = "RGB" if model.color_mode == "RGB" else "L"
        size = (int(model.image_size[0]), int(model.image_size[1]))
        for entry in entries:
            try:
                arrays.append(decode_image(entry.read_bytes(), mode=mode, size=size))
                names.append(entry.name)
            except (ImageReadError, OSError) as exc:
                err_console.print(f"skipped {entry.name}: {getattr(exc, 'reason', exc)}")
        for item in skipped:
            err_console.print(f"skipped {item.path}: {item.reason}")
        if not arrays:
            raise InputError("none of the given files could be read as an image")
        labels, confidence = model.predict(np.stack(arrays))
        table = Table("image", "class", "confidence")
        for name, label, conf in zip(names, labels, confidence, strict=True):
            shown = "unknown" if label < 0 else model.class_names.get(int(label), str(int(label)))
            table.add_row(name, shown, f"{conf:.3f}")
        out_console.print(table)
        if output:
            write_assignments(output, names, labels, confidence)


@click.command()
@click.argument("assignments", type=click.Path(dir_okay=False))
@click.option("--labels", "labels_csv", help="CSV with file,label columns (datasets export).")
@click.option("--dataset", help="Dataset the assignments came from (mnist, fashion-mnist, ...).")
@click.pass_context
def evaluate(
    ctx: click.Context, assignments: str, labels_csv: str | None, dataset: str | None
) -> None:
    """Score ASSIGNMENTS (from `pixclass cluster`) against known labels: ACC, NMI, ARI."""
    from pixclass.evaluate import evaluate_labels
    from pixclass.io.results import read_assignments

    with user_errors():
        if bool(labels_csv) == bool(dataset):
            raise InputError("give exactly one of --labels labels.csv or --dataset NAME")
        names, clusters = read_assignments(assignments)
        if dataset:
            truth = _dataset_truth(get_settings(ctx), dataset, names)
        else:
            truth = _csv_truth(str(labels_csv), names)
        known = np.array([t is not None for t in truth])
        if not known.any():
            raise InputError("no image in the assignments has a known label; check the paths")
        if not known.all():
            err_console.print(f"[yellow]{int((~known).sum())} image(s) have no label; left out[/]")
        scores = evaluate_labels(np.array([t for t in truth if t is not None]), clusters[known])
        out_console.print(
            f"ACC {scores['acc']:.4f}\nNMI {scores['nmi']:.4f}\nARI {scores['ari']:.4f}\n"
            f"clusters {int(scores['n_clusters'])}\nclasses {int(scores['n_classes'])}\n"
            f"images {int(known.sum())}"
        )


def _dataset_truth(settings: Any, dataset: str, names: list[str]) -> list[Any]:
    from pixclass.io import load_dataset

    data = load_dataset(dataset, settings)
    if data.labels is None:
        raise InputError(f"dataset {dataset} has no labels")
    labels = data.labels
    truth: list[Any] = []
    for name in names:
        _, _, index = name.rpartition(":")
        truth.append(
            int(labels[int(index)]) if index.isdigit() and int(index) < len(labels) else None
        )
    return truth


def _csv_truth(path: str, names: list[str]) -> list[Any]:
    from pixclass.io.results import read_labels

    by_file = read_labels(path)
    by_base = {Path(k).name: v for k, v in by_file.items()}
    truth: list[Any] = []
    for name in names:
        stripped = name.removeprefix("images/")
        label = by_file.get(name, by_file.get(stripped, by_base.get(Path(name).name)))
        truth.append(label)
    return truth


@click.command()
@click.option("--data", "data_path", type=click.Path(), help="Folder with the MNIST IDX files.")
@click.option(
    "--out",
    "out_dir",
    default="pixclass-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the per-class montages and the assignments.",
)
@click.option("--k", "k", default="auto", show_default=True, help="Number of classes, or 'auto'.")
@click.option("--no-download", is_flag=True, help="Never try to download MNIST.")
@click.pass_context
def demo(
    ctx: click.Context, data_path: str | None, out_dir: str, k: str, no_download: bool
) -> None:
    """MNIST 70k end to end: discover the digits without labels, score them, draw each class.

    Finds MNIST in --data, the configured data directory, or ../shared/data/mnist; online, it
    downloads the standard files; otherwise it runs on scikit-learn's bundled digits and says so.
    """
    from pixclass.demo import run_demo

    with user_errors(), progress_bars() as progress:
        summary = run_demo(
            get_settings(ctx),
            data_path=data_path,
            out_dir=Path(out_dir),
            n_clusters=parse_k(k),
            allow_download=not no_download,
            progress=progress,
            say=lambda text: err_console.print(text, highlight=False),
        )
    print_summary(summary.labels, summary.timings, {})
    print_scores(summary.scores)
    err_console.print(f"montages of every class: {summary.out_dir}/class-*.png")
