"""``pixclass watch DIR --collection NAME``: ingest, classify and report what lands in a folder."""

from __future__ import annotations

import threading

import click

from pixclass.cli.common import err_console, get_settings, user_errors
from pixclass.cli.jobs import log_to_stderr
from pixclass.cli.store import opened_store


@click.command("watch")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--collection", "-c", required=True, help="Collection the images go to.")
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 3600),
    default=1.0,
    show_default=True,
    help="Seconds between two looks at the folder.",
)
@click.option(
    "--settle",
    type=click.FloatRange(0, 3600),
    default=1.0,
    show_default=True,
    help="Seconds a file's size and time must stay the same before it is read.",
)
@click.option(
    "--max-wait",
    type=click.FloatRange(0, 3600),
    default=10.0,
    show_default=True,
    help="Longest a ready file waits for others still arriving (one notification per batch).",
)
@click.option(
    "--cluster-at",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="With no model yet, queue a cluster job once the collection holds this many images.",
)
@click.option("--once", is_flag=True, help="Handle what is there now, then exit.")
@click.option("--no-notify", is_flag=True, help="Send no notifications.")
@click.pass_context
def watch(
    ctx: click.Context,
    folder: str,
    collection: str,
    interval: float,
    settle: float,
    max_wait: float,
    cluster_at: int,
    once: bool,
    no_notify: bool,
) -> None:
    """Watch FOLDER: every new image is ingested into the collection, classified with its
    current model, and reported (one notification per batch). Files that came while it was
    not running are handled when it starts. Polls, so it works on network shares too.
    """
    from pixclass.jobs.watch import InboxWatcher

    log_to_stderr(verbose=False)
    settings = get_settings(ctx)
    with opened_store(ctx) as store, user_errors():
        watcher = InboxWatcher(
            settings,
            store,
            folder,
            collection,
            interval=interval,
            settle=settle,
            max_wait=max_wait,
            cluster_at=cluster_at,
            notify=not no_notify,
        )
        watcher.warm_up()
        if watcher.current_model() is None:
            err_console.print(
                f"{collection} has no finished run yet: images are ingested and wait; they are "
                f"classified after `pixclass cluster --collection {collection}`",
                highlight=False,
            )
        err_console.print(
            f"watching {watcher.folder} for {collection} (every {interval:g} s); Ctrl-C stops",
            highlight=False,
        )
        stop = threading.Event()
        try:
            watcher.run(stop, once=once)
        except KeyboardInterrupt:
            stop.set()
            err_console.print("stopped")
