"""``pixclass notify``: list the notification targets and check that they work.

``pixclass.notify`` (Apprise, numpy, Pillow) is imported inside the commands, so other commands
do not pay for it at start-up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
    """Notification targets (e-mail, ntfy, Slack, webhooks, ...): list and test them."""


@notify.command("targets")
@click.pass_context
def list_targets(ctx: click.Context) -> None:
    """List the configured targets (passwords and tokens masked) and the events each gets."""
    from pixclass.notify import Secrets, configured_targets

    settings = get_settings(ctx)
    with _user_errors():
        targets = configured_targets(settings, secrets=Secrets.load(settings))
    if not targets:
        out_console.print(
            "No notification targets. Add urls = [...] under [notify] in the config file or "
            "set PIXCLASS_NOTIFY_URLS; see docs/notifications.md."
        )
        return
    table = Table("Target", "Events", "Attachments")
    for target in targets:
        events = ", ".join(sorted(target.tags)) or "all"
        table.add_row(escape(target.display), events, "yes" if target.attach else "no")
    out_console.print(table)


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
    notifier = Notifier(targets, secrets=secrets, retries=retries, timeout=timeout)
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
