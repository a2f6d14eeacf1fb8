"""Commands about learning from the person: ``undo`` (the last correction of a run),
``corrections`` (the log) and ``learn`` (a new run from the corrections)."""

from __future__ import annotations

import click

from pixclass.cli.store import opened_store
from pixclass.services.corrections import list_corrections, undo_last_correction


@click.command("undo")
@click.argument("run_id", type=int)
@click.option(
    "--steps",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="How many corrections to undo, newest first.",
)
@click.pass_context
def undo(ctx: click.Context, run_id: int, steps: int) -> None:
    """Undo the newest correction of run RUN_ID (move, confirm, merge, split or rename)."""
    with opened_store(ctx) as store:
        for _ in range(steps):
            event = undo_last_correction(store, run_id)
            click.echo(f"run {run_id}: undid #{event.id} {event.kind}: {event.summary}")


@click.command("corrections")
@click.argument("run_id", type=int)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.pass_context
def corrections(ctx: click.Context, run_id: int, limit: int) -> None:
    """The corrections of run RUN_ID, newest first (who, when, what)."""
    with opened_store(ctx) as store:
        events = list_corrections(store, run_id, limit=limit)
    for e in events:
        state = "undone" if e.undone else ""
        when = e.at.strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{e.id}\t{when}\t{e.who}\t{e.kind}\t{e.summary}\t{state}".rstrip())


@click.command("learn")
@click.argument("run_id", type=int)
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed.")
@click.pass_context
def learn(ctx: click.Context, run_id: int, seed: int) -> None:
    """Make a new run that learned from the corrections of run RUN_ID.

    Every image a person placed stays placed, class names carry over, and every other image is
    re-predicted by a model trained on the person's labels (weighted up) and the confident
    rest. Images classified later (``pixclass classify``) use the new run's model.
    """
    from pixclass.cli.common import progress_bars
    from pixclass.services.learn import learn_run
    from pixclass.services.runs import get_run, list_clusters

    with opened_store(ctx) as store, progress_bars() as progress:
        new_id = learn_run(store, run_id, seed=seed, progress=progress)
        info = get_run(store, new_id)
        found = list_clusters(store, new_id)
    changed = info.metrics.get("changed", 0)
    click.echo(f"run {new_id}: learned from run {run_id}; {changed} image(s) changed class")
    for cluster in found:
        if cluster.size:
            click.echo(f"{cluster.index}\t{cluster.display_name}\t{cluster.size} images")
