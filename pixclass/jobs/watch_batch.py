"""One batch of a watched inbox: ingest the files, classify them, remember them, tell people.

A ``.zip`` in the inbox goes through the same ingest as the zips of an upload (member and archive
size caps, a bad archive one skipped entry): each of its images is remembered as
``NAME.zip/member`` with its own status, and the archive itself as ``unpacked``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from pixclass.io.imageset import SkippedImage
from pixclass.jobs import messages
from pixclass.jobs.api import submit_job
from pixclass.services.classify import LOW_CONFIDENCE, classify_images
from pixclass.services.ingest import IngestReport, ingest
from pixclass.services.targets import review_needed, review_percent, send_event
from pixclass.store import get_collection
from pixclass.store.inbox import InboxEntry, mark_classified, record_inbox_files
from pixclass.store.jobs import list_jobs

if TYPE_CHECKING:
    from pixclass.jobs.watch import BatchReport, InboxFile, InboxWatcher

log = logging.getLogger(__name__)

# The inbox row of an archive whose images have rows of their own.
UNPACKED = "unpacked"
NO_IMAGES = "the archive holds no image files"


def handle_batch(watcher: InboxWatcher, files: list[InboxFile], waiting: list[int]) -> BatchReport:
    """Ingest ``files``, classify them and the ``waiting`` images, record, notify."""
    from pixclass.jobs.watch import BatchReport

    report = BatchReport(files=len(files))
    ingested = _ingest(watcher, files)
    model = watcher.current_model()
    classes: dict[int, tuple[str, float]] = {}
    unusable: dict[int, str] = {}
    if model is not None:
        report.run_id = model.run_id
        ids = sorted(set(ingested.image_ids.values()) | set(waiting))
        if ids:
            found = classify_images(watcher.store, watcher.collection, ids, current=model)
            classes = found.classes
            unusable = dict(found.skipped)
    counts: Counter[str] = Counter()
    entries: list[InboxEntry] = []
    for file in files:
        for part in _parts(file, ingested):
            entries.append(_entry(part, ingested, classes, unusable, report, counts))
        if is_archive(file.name) and _members_of(file.name, ingested):
            entries.append(_inbox_entry(file, UNPACKED, None, None))
    done_waiting = [i for i in waiting if i in classes]
    for image_id in done_waiting:
        _count(classes[image_id], report, counts)
    report.counts = dict(counts)
    record_inbox_files(watcher.store, watcher.collection_id, entries)
    if done_waiting:
        mark_classified(watcher.store, watcher.collection_id, done_waiting)
    if model is None and report.waiting:
        _maybe_cluster(watcher)
    _log(watcher, report)
    if watcher.notify and (files or done_waiting):
        _notify(watcher, report)
    return report


def _ingest(watcher: InboxWatcher, files: list[InboxFile]) -> IngestReport:
    entries = [(f.name, f.path) for f in files]
    return ingest(watcher.store, entries, watcher.collection, settings=watcher.settings)


def is_archive(name: str) -> bool:
    return name.lower().endswith(".zip")


def _members_of(archive: str, ingested: IngestReport) -> list[str]:
    """The names of the images of ``archive`` that the ingest saw (stored or skipped)."""
    prefix = archive + "/"
    names = {*ingested.image_ids, *(s.path for s in ingested.skipped)}
    return sorted(name for name in names if name.startswith(prefix))


def _parts(found: InboxFile, ingested: IngestReport) -> list[InboxFile]:
    """A file, or each image of an archive (named ``NAME.zip/member``, with the zip's size and
    mtime); an archive that could not be opened, or holds no image, stands for itself."""
    if not is_archive(found.name):
        return [found]
    members = _members_of(found.name, ingested)
    if not members and not any(s.path == found.name for s in ingested.skipped):
        ingested.skipped.append(SkippedImage(found.name, NO_IMAGES))
    return [replace(found, name=name) for name in members] or [found]


def _entry(
    found: InboxFile,
    ingested: IngestReport,
    classes: dict[int, tuple[str, float]],
    unusable: dict[int, str],
    report: BatchReport,
    counts: Counter[str],
) -> InboxEntry:
    image_id = ingested.image_ids.get(found.name)
    if image_id is None or image_id in unusable:
        reason = unusable.get(image_id or 0) or _unread_reason(ingested, found.name)
        report.skipped.append((found.name, reason))
        return _inbox_entry(found, "skipped", reason, image_id)
    if image_id in classes:
        _count(classes[image_id], report, counts)
        return _inbox_entry(found, "classified", None, image_id)
    report.waiting += 1
    return _inbox_entry(found, "waiting", None, image_id)


def _unread_reason(ingested: IngestReport, name: str) -> str:
    return next((s.reason for s in ingested.skipped if s.path == name), "could not be read")


def _inbox_entry(
    found: InboxFile, status: str, reason: str | None, image_id: int | None
) -> InboxEntry:
    return InboxEntry(found.name, found.size, found.mtime_ns, status, reason, image_id)


def _count(assigned: tuple[str, float], report: BatchReport, counts: Counter[str]) -> None:
    name, confidence = assigned
    counts[name] += 1
    report.classified += 1
    if confidence < LOW_CONFIDENCE:
        report.n_low_confidence += 1


def _maybe_cluster(watcher: InboxWatcher) -> None:
    """Queue the collection's first cluster job once it holds ``cluster_at`` images."""
    if watcher.cluster_at <= 0:
        return
    n_images = get_collection(watcher.store, watcher.collection).n_images
    active = list_jobs(
        watcher.store, watcher.collection, states=("queued", "running"), kind="cluster"
    )
    if n_images < watcher.cluster_at or active:
        return
    job_id = submit_job(watcher.settings, "cluster", watcher.collection, {})
    log.info(
        "%s: %d images and no model yet: cluster job %s queued",
        watcher.collection,
        n_images,
        job_id,
    )


def _log(watcher: InboxWatcher, report: BatchReport) -> None:
    for name, reason in report.skipped:
        log.warning("%s: skipped %s: %s", watcher.collection, name, reason)
    ordered = sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{report.classified} classified"]
    if ordered:
        parts[0] += " (" + ", ".join(f"{name} {n}" for name, n in ordered) + ")"
    if report.waiting:
        parts.append(f"{report.waiting} waiting for a first run")
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped")
    log.info("%s: %d file(s): %s", watcher.collection, report.files, ", ".join(parts))


def _notify(watcher: InboxWatcher, report: BatchReport) -> None:
    settings, store, collection = watcher.settings, watcher.store, watcher.collection
    event = messages.images_classified(
        settings,
        collection,
        report.run_id,
        report.counts,
        skipped=report.skipped,
        waiting=report.waiting,
    )
    report.notifications = send_event(
        settings, store, event, collection=collection, run_id=report.run_id
    )
    percent = review_percent(store, collection)
    if report.run_id is not None and review_needed(
        report.n_low_confidence, report.classified, percent
    ):
        review = messages.review(settings, collection, report.run_id, report.n_low_confidence)
        report.notifications += send_event(
            settings, store, review, collection=collection, run_id=report.run_id
        )
