"""Progress reporting without tying the library to a UI.

Library functions take an optional ``progress`` callback and call it as
``progress(stage, done, total)``; the CLI draws rich bars from it, jobs store it in the database,
the web app shows it live. ``total`` may be 0 when the size of a stage is unknown.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The default callback: report nothing."""


def report(progress: ProgressCallback | None) -> ProgressCallback:
    """Return ``progress`` or the silent default, so callers never check for None."""
    return progress if progress is not None else no_progress


class Cancelled(Exception):
    """Raised by a progress callback to stop the work that called it (a job was cancelled).

    Library code lets it pass; whoever started the work marks it cancelled.
    """
