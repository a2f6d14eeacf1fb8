"""A watched inbox: every image that lands in a folder is ingested, classified and reported.

The folder is polled (``os.scandir``) rather than watched with inotify, so that it works on
network shares (SMB, NFS), where change notifications are missing or unreliable. Each poll:

1. lists the image files and ``.zip`` archives (hidden files and folders, and names of files
   still being written -- ``*.part``, ``*.tmp``, ``*.crdownload``, ``*~`` ... -- are left alone);
2. a file is *settled* once its size and mtime have stayed the same for ``settle`` seconds; a
   file still growing is not read;
3. when files are settled and none is still arriving (or the oldest has waited ``max_wait``),
   they are handled as one batch: ingested, classified with the collection's current model,
   remembered in the database by (path, size, mtime), and reported in ONE notification;
4. a file that cannot be read is reported (log and notification) with its reason, once.

Files that arrived while the watcher was down are found by the first poll. When the collection
has no finished run yet, files are ingested and wait; they are classified in the first batch
after a run finishes. With ``cluster_at``, the watcher queues that first cluster job itself once
the collection holds that many images (a worker must be running).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pixclass.config import Settings
from pixclass.errors import ConflictError, InputError, NotFoundError
from pixclass.io.decode import has_image_extension
from pixclass.notify import SendResult
from pixclass.services.classify import CurrentModel, load_current_model
from pixclass.store import Store, create_collection
from pixclass.store.assignments import class_names, current_model_run
from pixclass.store.collections import find_collection_id
from pixclass.store.inbox import processed_files, waiting_images

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
SETTLE_SECONDS = 1.0
MAX_WAIT_SECONDS = 10.0
MAX_BATCH = 5000
# After an error (the database away for a moment), wait at least this long before trying again.
RETRY_SECONDS = 10.0
# With ``once``: how long past settle + max_wait to wait for files that keep changing.
ONCE_GRACE = 60.0
# Names that programs give files while they write them, before renaming them into place.
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".filepart")


@dataclass(frozen=True)
class InboxFile:
    """A file of the inbox as one poll saw it (``name``: relative to the inbox, with ``/``)."""

    name: str
    path: Path
    size: int
    mtime_ns: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.name, self.size, self.mtime_ns)


@dataclass
class BatchReport:
    """What one batch did: files, their classes, what was skipped and why, who was told."""

    files: int = 0
    classified: int = 0
    waiting: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    n_low_confidence: int = 0
    run_id: int | None = None
    notifications: list[SendResult] = field(default_factory=list)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # when this size and mtime were first seen


def is_candidate(name: str) -> bool:
    """An image file or a ``.zip``, not hidden and not a temporary name of a file being written."""
    lower = name.lower()
    if name.startswith((".", "~$")) or lower.endswith("~") or lower.endswith(TEMP_SUFFIXES):
        return False
    return has_image_extension(name) or lower.endswith(".zip")


def scan_inbox(folder: Path) -> Iterator[InboxFile]:
    """Every candidate file under ``folder`` (recursively; hidden folders are skipped)."""
    stack = [(folder, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:  # a folder removed or unreadable meanwhile: next poll
            log.warning("cannot list %s: %s", directory, exc)
            continue
        for entry in entries:
            try:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), f"{prefix}{entry.name}/"))
                elif is_candidate(entry.name) and not entry.is_dir():
                    # Not only regular files: a FIFO, a device link or a broken link named like
                    # an image is reported (once) with its reason; reading it never blocks.
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:  # a broken link: judged by the link itself
                        stat = entry.stat(follow_symlinks=False)
                    yield InboxFile(
                        f"{prefix}{entry.name}", Path(entry.path), stat.st_size, stat.st_mtime_ns
                    )
            except OSError:  # gone between listing and stat
                continue


class InboxWatcher:
    """Polls a folder and handles what lands in it (see the module docs).

    Parameters
    ----------
    settings : Settings
    store : Store
    folder : Path
        The inbox.
    collection : str
        Where its images go (created when missing).
    interval : float, default=1.0
        Seconds between polls.
    settle : float, default=1.0
        Seconds a file's size and mtime must stay the same before it is read. On a slow
        network share, raise it above the longest pause of a writer.
    max_wait : float, default=10.0
        Longest a settled file waits for the files still arriving with it, so that a burst
        makes one batch (and one notification) but a steady trickle is still reported.
    cluster_at : int, default=0
        Queue a cluster job when the collection has no model and holds this many images
        (0: never; classification then waits for someone to cluster the collection).
    notify : bool, default=True
        Send a summary notification per batch.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        folder: str | Path,
        collection: str,
        *,
        interval: float = INTERVAL_SECONDS,
        settle: float = SETTLE_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
        cluster_at: int = 0,
        notify: bool = True,
    ) -> None:
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise InputError(f"the inbox {self.folder} is not a folder; create it first")
        if interval <= 0 or settle < 0 or max_wait < 0:
            raise InputError("interval must be positive; settle and max_wait at least 0")
        self.settings, self.store, self.collection = settings, store, collection
        self.interval, self.settle, self.max_wait = interval, settle, max_wait
        self.cluster_at, self.notify = cluster_at, notify
        self.collection_id = _ensure_collection(store, collection)
        self.processed = processed_files(store, self.collection_id)
        self._seen: dict[str, _Seen] = {}
        self._model: CurrentModel | None = None
        self._waiting_checked_for: int | None = None
        self._cluster_job: int | None = None

    def warm_up(self) -> None:
        """Load the current model and classify nothing once, so the first batch is quick."""
        model = self.current_model()
        if model is not None:
            h, w = model.model.image_size
            channels = (3,) if model.model.color_mode == "RGB" else ()
            model.model.predict(np.zeros((1, h, w, *channels), dtype=np.uint8))

    def poll(self, now: float | None = None) -> BatchReport | None:
        """Look once; handle a batch if one is ready. Returns its report, else None."""
        now = time.monotonic() if now is None else now
        ready, arriving = self._settled(now)
        report = None
        waited = now - min((self._seen[f.name].since for f in ready), default=now)
        if ready and (not arriving or waited >= self.max_wait):
            report = self._handle(ready[:MAX_BATCH], [])
        elif self._waiting_to_classify():
            report = self._handle([], waiting_images(self.store, self.collection_id))
        return report

    def pending(self) -> int:
        """Files seen but not handled yet (still arriving or waiting for their batch)."""
        return sum(
            1
            for name, seen in self._seen.items()
            if (name, seen.size, seen.mtime_ns) not in self.processed
        )

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        once: bool = False,
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> None:
        """Poll until ``stop`` is set (or, with ``once``, until nothing is left to handle)."""
        stop = stop or threading.Event()
        started = time.monotonic()
        while not stop.is_set():
            try:
                report = self.poll()
            except Exception:  # the database away for a moment, a model that will not load...
                if once:
                    raise
                log.exception("%s: could not handle the inbox; trying again", self.collection)
                stop.wait(max(self.interval, RETRY_SECONDS))
                continue
            if report is not None and on_batch is not None:
                on_batch(report)
            if once and report is None and not self.pending():
                return
            if once and time.monotonic() - started > self.settle + self.max_wait + ONCE_GRACE:
                log.warning("files still being written; stopping without them")
                return
            stop.wait(self.interval)

    def _settled(self, now: float) -> tuple[list[InboxFile], int]:
        """The files whose size and mtime held for ``settle`` s, and how many are still arriving."""
        ready: list[InboxFile] = []
        arriving = 0
        present = set()
        for found in scan_inbox(self.folder):
            present.add(found.name)
            if found.key in self.processed:
                continue
            seen = self._seen.get(found.name)
            if seen is None or (seen.size, seen.mtime_ns) != (found.size, found.mtime_ns):
                self._seen[found.name] = _Seen(found.size, found.mtime_ns, now)
                arriving += 1
            elif now - seen.since >= self.settle:
                ready.append(found)
            else:
                arriving += 1
        for name in set(self._seen) - present:
            del self._seen[name]
        ready.sort(key=lambda f: f.name)
        return ready, arriving

    def _handle(self, files: list[InboxFile], waiting: list[int]) -> BatchReport:
        """Ingest and classify a batch; remember its files; send one summary."""
        from pixclass.jobs.watch_batch import handle_batch  # it needs this module's types

        report = handle_batch(self, files, waiting)
        for found in files:
            self.processed.add(found.key)
            self._seen.pop(found.name, None)
        return report

    def _waiting_to_classify(self) -> bool:
        """A model appeared since files were left waiting (checked once per run)."""
        run_id = current_model_run(self.store, self.collection_id)
        if run_id is None or run_id == self._waiting_checked_for:
            return False
        self._waiting_checked_for = run_id
        return bool(waiting_images(self.store, self.collection_id))

    def current_model(self) -> CurrentModel | None:
        """The collection's current model, loaded once per run (names refreshed each time)."""
        run_id = current_model_run(self.store, self.collection_id)
        if run_id is None:
            return None
        if self._model is None or self._model.run_id != run_id:
            self._model = load_current_model(self.store, self.collection)
        else:
            self._model = replace(self._model, class_names=class_names(self.store, run_id))
        return self._model


def _ensure_collection(store: Store, collection: str) -> int:
    """The collection's id, creating it when missing."""
    try:
        return find_collection_id(store, collection)
    except NotFoundError:
        with contextlib.suppress(ConflictError):  # created meanwhile by someone else
            return create_collection(store, collection)
    return find_collection_id(store, collection)
