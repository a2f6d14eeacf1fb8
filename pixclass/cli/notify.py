"""``pixclass notify``: list the notification targets and check that they work.

``pixclass.notify`` (Apprise, numpy, Pillow) is imported inside the commands, so other commands
do not pay for it at start-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from pixclass.cli.common import fail, get_settings, out_console
from pixclass.errors import PixclassError

if TYPE_CHECKING:
    from pixclass.notify import SendResult, Target


@click.group()
def notify() -> None:
    """Notification targets (e-mail, ntfy, Slack, webhooks, ...): list, add, test them."""


@notify.command("targets")
@click.option("--collection", "-c", default=None, help="Also the targets of this collection.")
@click.pass_context
def list_targets(ctx: click.Context, collection: str | None) -> None:
    """List the configured targets (passwords and tokens masked) and the events each gets.

    Global targets come from the config file and PIXCLASS_NOTIFY_URLS; with --collection, the
    collection's own targets (`pixclass notify add`) are listed too.
    """
    from pixclass.notify import Secrets, configured_targets

    settings = get_settings(ctx)
    with _user_errors():
        rows = [("config", t) for t in configured_targets(settings, secrets=Secrets.load(settings))]
        if collection:
            rows += [(f"collection {collection}", t) for t in _collection_targets(ctx, collection)]
    if not rows:
        out_console.print(
            "No notification targets. Add urls = [...] under [notify] in the config file, set "
            "PIXCLASS_NOTIFY_URLS, or `pixclass notify add URL --collection NAME`; see "
            "docs/notifications.md."
        )
        return
    table = Table("Target", "Events", "Attachments", "From")
    table.columns[0].overflow = "fold"
    for origin, target in rows:
        events = ", ".join(sorted(target.tags)) or "all"
        attach = "yes" if target.attach else "no"
        table.add_row(escape(target.display), events, attach, escape(origin))
    out_console.print(table)


def _collection_targets(ctx: click.Context, collection: str) -> list[Target]:
    from pixclass.services.collections import open_store
    from pixclass.services.targets import collection_targets

    with open_store(get_settings(ctx)) as store:
        return collection_targets(store, collection)


@notify.command("add")
@click.argument("url")
@click.option("--collection", "-c", required=True, help="The collection whose events it gets.")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    type=click.Choice(["run-finished", "run-failed", "images-classified", "review-needed"]),
    help="Only these events (repeat for several); none: every event.",
)
@click.pass_context
def add_target(ctx: click.Context, url: str, collection: str, tags: tuple[str, ...]) -> None:
    """Send a collection's events to URL as well (kept with the collection in the database).

    Write any password, token or key in URL as a placeholder, {secret:NAME}, and set
    PIXCLASS_SECRET_NAME or NAME under [secrets] in the config file: the database never holds
    a secret. Adding a URL the collection has already changes its tags.
    """
    from pixclass.services.collections import open_store
    from pixclass.services.targets import add_collection_target

    settings = get_settings(ctx)
    with _user_errors(), open_store(settings) as store:
        targets = add_collection_target(store, settings, collection, url, tags)
    added = next(t for t in targets if t.url == url.strip())
    events = ", ".join(sorted(added.tags)) or "every event"
    out_console.print(f"{escape(collection)}: {escape(added.display)} gets {events}")


@notify.command("remove")
@click.argument("target")
@click.option("--collection", "-c", required=True, help="The collection to remove it from.")
@click.pass_context
def remove_target(ctx: click.Context, target: str, collection: str) -> None:
    """Stop sending a collection's events to TARGET: its URL as added, as shown by
    `notify targets --collection NAME`, or its number there (1 for the first)."""
    from pixclass.services.collections import open_store
    from pixclass.services.targets import remove_collection_target

    with _user_errors(), open_store(get_settings(ctx)) as store:
        removed = remove_collection_target(store, collection, target)
    out_console.print(f"{escape(collection)}: removed {escape(removed.display)}")


@notify.command("log")
@click.option("--collection", "-c", default=None, help="Only the sends about this collection.")
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.pass_context
def send_log(ctx: click.Context, collection: str | None, limit: int) -> None:
    """The notifications sent, newest first: event, target, result and the server's error."""
    from pixclass.services.collections import open_store
    from pixclass.services.targets import list_sends

    with _user_errors(), open_store(get_settings(ctx)) as store:
        sends = list_sends(store, collection, limit)
    if not sends:
        out_console.print("No notifications sent yet.")
        return
    table = Table("#", "Sent", "Event", "About", "Target", "Result", "Tries", "Error")
    table.columns[4].overflow = "fold"
    table.columns[7].overflow = "fold"
    for send in sends:
        about = " ".join(
            part
            for part in (
                send.collection or "",
                f"run {send.run_id}" if send.run_id else "",
                f"job {send.job_id}" if send.job_id else "",
            )
            if part
        )
        table.add_row(
            str(send.id),
            send.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
            send.event_type,
            escape(about),
            escape(send.target),
            _status(send.status, send.next_attempt_at),
            str(send.attempts),
            escape(send.error or ""),
        )
    out_console.print(table)


def _status(status: str, next_try: datetime | None) -> str:
    if status == "sent":
        return "[green]ok[/]"
    if status == "retrying" and next_try is not None:
        return f"[yellow]retrying[/] (next try {next_try.strftime('%H:%M:%S')} UTC)"
    return "[red]failed[/]"


@notify.command("resend")
@click.argument("ids", nargs=-1, type=click.IntRange(1, 2**63 - 1))
@click.option("--collection", "-c", default=None, help="Only the sends about this collection.")
@click.pass_context
def resend_sends(ctx: click.Context, ids: tuple[int, ...], collection: str | None) -> None:
    """Send again now the notifications that did not go out: the IDS `notify log` shows, or
    without IDS every one still waiting for a retry or failed for good. Exits with 1 if any
    still failed."""
    from pixclass.services.collections import open_store
    from pixclass.services.retries import resend

    settings = get_settings(ctx)
    with _user_errors(), open_store(settings) as store:
        results = resend(settings, store, ids, collection=collection)
    if not results:
        out_console.print("Nothing to resend: every notification went out.")
        return
    out_console.print(_results_table(results))
    if not all(r.ok for r in results):
        ctx.exit(1)


@notify.command("test")
@click.argument("urls", nargs=-1)
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True)
@click.option(
    "--timeout", type=click.FloatRange(1, 300), default=20.0, show_default=True, help="Seconds."
)
@click.pass_context
def send_test(ctx: click.Context, urls: tuple[str, ...], retries: int, timeout: float) -> None:
    """Send a test message to the configured targets, or to the URLs given, and show results.

    A URL may name a secret as {secret:NAME}, read from PIXCLASS_SECRET_NAME or the config
    file's [secrets] table. Exits with 1 if any target failed.
    """
    from pixclass.notify import Notifier, Secrets, TestMessage, configured_targets, parse_target

    settings = get_settings(ctx)
    with _user_errors():
        secrets = Secrets.load(settings)
        targets: list[Target]
        if urls:
            targets = [parse_target(url, secrets=secrets) for url in urls]
        else:
            targets = configured_targets(settings, secrets=secrets)
    if not targets:
        fail(
            "no notification targets: pass a URL, or add urls = [...] under [notify] in the "
            "config file (see docs/notifications.md)"
        )
    notifier = Notifier(
        targets,
        secrets=secrets,
        retries=retries,
        timeout=timeout,
        allow_private=settings.notify_allow_private,
    )
    results = notifier.send(TestMessage())
    out_console.print(_results_table(results))
    if not all(r.ok for r in results):
        ctx.exit(1)


def _results_table(results: list[SendResult]) -> Table:
    table = Table("Target", "Result", "Tries", "Error")
    table.columns[0].overflow = "fold"
    table.columns[3].overflow = "fold"
    for r in results:
        status = "[green]ok[/]" if r.ok else "[red]failed[/]"
        table.add_row(escape(r.target), status, str(r.attempts), escape(r.error or ""))
    return table


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    # Like common.user_errors, but escaped: our messages name config tables such as [secrets],
    # which rich would otherwise read as markup and drop.
    try:
        yield
    except PixclassError as exc:
        fail(escape(str(exc)))
