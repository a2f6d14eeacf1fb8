"""Errors a user can cause. Each message says what was wrong and what to do.

The CLI turns any ``PixclassError`` into one line on stderr and a non-zero exit; the web app maps
the subclasses to HTTP statuses in one place (``pixclass.web.errors``).
"""

from __future__ import annotations

import re


class PixclassError(Exception):
    """Base class for every error pixclass raises on purpose."""


class InputError(PixclassError):
    """A path, dataset name, option value or file the user gave cannot be used."""


class NotFoundError(PixclassError):
    """A collection, run, cluster, image or job that does not exist."""


class NoImagesError(InputError):
    """A source held no readable image at all."""


class ModelError(PixclassError):
    """A saved model is missing, corrupt, or from an incompatible version."""


class MissingExtraError(PixclassError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package '{package}'. "
            f"Install it with: pip install 'pixclass[{extra}]'"
        )
        self.package = package
        self.extra = extra


class SchemaError(PixclassError):
    """The database schema is older than this version of pixclass."""


class ConflictError(PixclassError):
    """The request conflicts with the current state (a name taken, a job already running)."""


# An absolute path (POSIX, ``~/``, ``C:\``) not inside a URL or a longer word: its folders are
# what ``hide_paths`` drops. A path with spaces ends at the first space.
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/\\~-])(?:~?/|[A-Za-z]:\\)(?:[^\s'\"<>|:;,()\[\]{}*?/\\]+[/\\])+"
    r"(?P<name>[^\s'\"<>|:;,()\[\]{}*?/\\]*)"
)


def hide_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part: the file name stays, the folders
    it came from (the server's layout, a user's home) do not. For what is stored or sent where
    other people read it: run and job errors, notifications."""

    def name_only(match: re.Match[str]) -> str:
        name = match.group("name")
        if name:
            return name
        folders = [p for p in re.split(r"[/\\]", match.group(0)) if p and p != "~"]
        return f"{folders[-1]}/" if folders else match.group(0)

    return _ABSOLUTE_PATH.sub(name_only, text)
