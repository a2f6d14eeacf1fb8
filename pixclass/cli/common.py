"""Shared pieces of the command line: settings, error reporting, progress bars."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pixclass.config import Settings, load_settings
from pixclass.errors import PixclassError
from pixclass.progress import ProgressCallback

# Progress and messages go to stderr so that stdout stays clean for data (CSV, JSON) and pipes.
# Piped into a file or another program (no terminal, no COLUMNS), rich would fold everything
# to 80 columns and cut table cells ("/data/ima…"): there, lines and cells are printed whole.
_PIPED_WIDTH = 1000


def _width(stream: Any) -> int | None:
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None  # rich measures the terminal
    return _PIPED_WIDTH


err_console = Console(stderr=True, width=_width(sys.stderr))
out_console = Console(width=_width(sys.stdout))


def get_settings(ctx: click.Context) -> Settings:
    """The Settings read once at the entry point (``main``), stored on the click context."""
    obj = ctx.find_root().obj
    if obj is None or "settings" not in obj:
        ctx.find_root().obj = {"settings": load_settings()}
        obj = ctx.find_root().obj
    settings: Settings = obj["settings"]
    return settings


def fail(message: str, code: int = 1) -> None:
    """Print one clear line to stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn library errors into one line and exit code 1 (2 for usage, as click does)."""
    try:
        yield
    except PixclassError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)


@contextlib.contextmanager
def progress_bars(enabled: bool = True) -> Iterator[ProgressCallback]:
    """Rich progress bars; yields the ``progress(stage, done, total)`` callback for the library."""
    if not enabled:
        yield lambda stage, done, total: None
        return
    columns: list[Any] = [
        TextColumn("[progress.description]{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=False) as bars:
        tasks: dict[str, Any] = {}

        def callback(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total or None)
            bars.update(tasks[stage], completed=done, total=total or None)

        yield callback


def who() -> str:
    """Who makes a correction from the command line, for the corrections log."""
    import getpass

    try:
        return f"cli ({getpass.getuser()})"
    except (KeyError, OSError):  # no user name in this environment
        return "cli"
