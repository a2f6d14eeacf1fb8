"""Commands about results: ``runs list|show``, ``classes rename|move|confirm|merge|split``,
``assign``, ``similar``, ``recut``: the same services the web app calls.

``pixclass clusters ...`` is the old name of ``pixclass classes ...``, kept (hidden) so that
scripts written for it still work."""

from __future__ import annotations

import json

import click

from pixclass.cli.common import err_console, who
from pixclass.cli.store import opened_store
from pixclass.services.corrections import (
    assign_image,
    confirm_images,
    merge_clusters,
    move_images,
    rename_cluster,
    split_class,
)
from pixclass.services.recut import recut_run
from pixclass.services.runs import RunInfo, get_run, list_clusters, list_runs
from pixclass.services.similar import similar_images


@click.group("runs")
def runs() -> None:
    """Clustering runs stored in the database."""


def _when(run: RunInfo) -> str:
    moment = run.finished_at or run.started_at or run.created_at
    return moment.strftime("%Y-%m-%d %H:%M")


@runs.command("list")
@click.option("--collection", "-c", default=None, help="Only the runs of this collection.")
@click.pass_context
def runs_list(ctx: click.Context, collection: str | None) -> None:
    """The runs, newest first."""
    with opened_store(ctx) as store:
        found = list_runs(store, collection)
    if not found:
        err_console.print("no runs yet; start one with `pixclass cluster --collection NAME`")
    for run in found:
        k = "-" if run.n_clusters is None else str(run.n_clusters)
        click.echo(
            f"{run.id}\t{run.collection}\t{run.status}\tk={k}\t{run.features}\t{_when(run)}"
            + (f"\t{run.error}" if run.error else "")
        )


@runs.command("show")
@click.argument("run_id", type=int)
@click.pass_context
def runs_show(ctx: click.Context, run_id: int) -> None:
    """A run's settings, timings, metrics and classes."""
    with opened_store(ctx) as store:
        run = get_run(store, run_id)
        clusters = list_clusters(store, run_id)
    click.echo(f"run {run.id} of {run.collection}: {run.status}")
    if run.error:
        click.echo(f"error: {run.error}")
    click.echo(f"features: {run.features}   classes: {run.n_clusters}   images: {run.n_images}")
    for label, moment in (
        ("created", run.created_at),
        ("started", run.started_at),
        ("finished", run.finished_at),
    ):
        if moment is not None:
            click.echo(f"{label}: {moment.isoformat(timespec='seconds')}")
    for label, values in (
        ("params", run.params),
        ("timings", run.timings),
        ("metrics", run.metrics),
    ):
        if values:
            click.echo(f"{label}: {json.dumps(values, sort_keys=True)}")
    for cluster in clusters:
        example = cluster.representative_image_id
        click.echo(
            f"  {cluster.index:>3}  {cluster.display_name:<24} {cluster.size:>7} images"
            + (f"  (e.g. image {example})" if example is not None else "")
        )


@click.group("classes")
def classes() -> None:
    """Name, move, confirm, merge and split the classes of a run."""


@classes.command("rename")
@click.argument("run_id", type=int)
@click.argument("cluster", metavar="CLASS")
@click.argument("name")
@click.pass_context
def classes_rename(ctx: click.Context, run_id: int, cluster: str, name: str) -> None:
    """Name CLASS (its number, or current name) of run RUN_ID; "" goes back to cluster-N."""
    with opened_store(ctx) as store:
        info = rename_cluster(store, run_id, cluster, name, who=who())
    click.echo(f"run {run_id}: class {info.index} is now {info.display_name}")


@click.command("assign")
@click.argument("image_id", type=int)
@click.argument("cluster", metavar="CLASS")
@click.option("--run", "run_id", type=int, default=None, help="Run (default: the newest done).")
@click.pass_context
def assign(ctx: click.Context, image_id: int, cluster: str, run_id: int | None) -> None:
    """Correct a result: put image IMAGE_ID in CLASS (number or name). A person's choice wins
    over later runs when classes are shown or exported."""
    with opened_store(ctx) as store:
        used_run, info = assign_image(store, image_id, cluster, run_id=run_id, who=who())
    click.echo(f"image {image_id} is in {info.display_name} (run {used_run}), set by a person")


@classes.command("move")
@click.argument("run_id", type=int)
@click.argument("cluster", metavar="CLASS")
@click.argument("image_ids", type=int, nargs=-1, required=True)
@click.pass_context
def classes_move(ctx: click.Context, run_id: int, cluster: str, image_ids: tuple[int, ...]) -> None:
    """Put IMAGE_IDS in CLASS (number or name) of run RUN_ID, as a person's decision."""
    with opened_store(ctx) as store:
        info, moved = move_images(store, run_id, list(image_ids), cluster, who=who())
    click.echo(f"run {run_id}: {moved} image(s) moved to {info.display_name} ({info.size} now)")


@classes.command("confirm")
@click.argument("run_id", type=int)
@click.argument("image_ids", type=int, nargs=-1, required=True)
@click.pass_context
def classes_confirm(ctx: click.Context, run_id: int, image_ids: tuple[int, ...]) -> None:
    """Confirm the class run RUN_ID gave IMAGE_IDS (unknown images are left alone)."""
    with opened_store(ctx) as store:
        confirmed = confirm_images(store, run_id, list(image_ids), who=who())
    click.echo(f"run {run_id}: {confirmed} image(s) confirmed")


@classes.command("merge")
@click.argument("run_id", type=int)
@click.argument("clusters_from", metavar="CLASS...", nargs=-1, required=True)
@click.option("--into", required=True, help="The class (number or name) that takes them.")
@click.pass_context
def classes_merge(
    ctx: click.Context, run_id: int, clusters_from: tuple[str, ...], into: str
) -> None:
    """Move every image of the CLASSes of run RUN_ID into the class --into."""
    with opened_store(ctx) as store:
        info = merge_clusters(store, run_id, list(clusters_from), into, who=who())
    click.echo(f"run {run_id}: merged into {info.display_name} ({info.size} images)")


@classes.command("split")
@click.argument("run_id", type=int)
@click.argument("cluster", metavar="CLASS")
@click.option("--into", "k", type=int, default=2, show_default=True, help="Number of parts.")
@click.option("--seed", type=int, default=0, show_default=True, help="k-means seed.")
@click.pass_context
def classes_split(ctx: click.Context, run_id: int, cluster: str, k: int, seed: int) -> None:
    """Split CLASS of run RUN_ID into parts by k-means in the run's feature space."""
    with opened_store(ctx) as store:
        parts = split_class(store, run_id, cluster, k, seed, who=who())
    for info in parts:
        click.echo(f"{info.index}\t{info.display_name}\t{info.size} images")


# The old name of the group: the same commands, not shown in --help.
clusters = click.Group(
    "clusters",
    commands=classes.commands,
    hidden=True,
    help="Old name of `pixclass classes` (kept so that scripts keep working).",
)


@click.command("similar")
@click.argument("run_id", type=int)
@click.argument("image_id", type=int)
@click.option("--k", "k", type=int, default=12, show_default=True, help="How many images.")
@click.pass_context
def similar(ctx: click.Context, run_id: int, image_id: int, k: int) -> None:
    """The images of run RUN_ID most like IMAGE_ID, nearest first, with their classes."""
    with opened_store(ctx) as store:
        found = similar_images(store, run_id, image_id, k)
    for item in found:
        click.echo(f"{item.image_id}\t{item.class_name}\t{item.confidence:.2f}")


@click.command("recut")
@click.argument("run_id", type=int)
@click.option("--k", "k", type=int, required=True, help="The number of classes of the new run.")
@click.option("--seed", type=int, default=0, show_default=True, help="Clustering seed.")
@click.pass_context
def recut(ctx: click.Context, run_id: int, k: int, seed: int) -> None:
    """Re-cut run RUN_ID into K classes: a new run in seconds, on the same embedding.

    Nothing is decoded or embedded again; named classes pass their names to the new classes
    that hold most of their images, and corrections stay with their images.
    """
    with opened_store(ctx) as store:
        new_id = recut_run(store, run_id, k, seed=seed)
        info = get_run(store, new_id)
        found = list_clusters(store, new_id)
    click.echo(f"run {new_id}: run {run_id} re-cut into {info.n_clusters} classes")
    for cluster in found:
        click.echo(f"{cluster.index}\t{cluster.display_name}\t{cluster.size} images")
