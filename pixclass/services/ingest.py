"""``ingest``: the one way images enter a collection, idempotently.

Every entry point calls ``ingest``: ``pixclass ingest`` and the ingest job (a folder, zip or
dataset), an upload of the web app (the folder it was received into), and a classify upload and
a watched inbox (the files, as ``(name, bytes or path)`` entries). Files are read, hashed,
checked and thumbnailed in a thread pool while the main thread writes finished batches, each
batch in one transaction. So:

- a second ingest of the same files adds nothing: a file whose SHA-256 the collection holds is
  only hashed (no decoding), and a new name for it is recorded as another name of that image;
- a killed ingest loses at most the batch it was writing; running it again continues;
- a bad file is skipped with its reason and never stops the rest.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

from pixclass.config import Settings
from pixclass.io.decode import ImageReadError, bomb_guard
from pixclass.io.hashing import sha256_bytes
from pixclass.io.imageset import SkippedImage
from pixclass.io.sources import ImageEntry, ReadLimits, archive_entries
from pixclass.io.thumbnails import check_image
from pixclass.progress import ProgressCallback, report
from pixclass.services.sources import IngestItem, IngestSource, open_source
from pixclass.store.blobs import DirectoryBlobStore
from pixclass.store.collections import ensure_collection
from pixclass.store.db import Store
from pixclass.store.images import (
    ContentIndex,
    NewImage,
    add_images,
    add_names,
    find_content,
    load_content_index,
    new_image,
)

# Images per transaction: big enough that commits cost little, small enough that a kill loses
# little and memory stays flat (a batch of photos holds their bytes until it is written).
BATCH_SIZE = 1000
# Images per thread task: hand-offs must be rare next to hashing a 300-byte file.
CHUNK_SIZE = 250
# Up to this many files, only their own hashes are looked up in the collection (a classify
# upload or an inbox batch into a collection of 70,000); above, its whole index is read once.
FEW_FILES = 500

Entry = tuple[str, bytes | Path]
"""A file to ingest: its name, and its bytes or the path to read them from."""


@dataclass
class IngestReport:
    """What an ingest did.

    Attributes
    ----------
    added : int
        New images.
    present : int
        Files whose bytes the collection already held (under this name or another).
    names_added : int
        Of ``present``, those whose name was new and is now recorded as another name.
    skipped : list of SkippedImage
        Files that could not be used, and why.
    image_ids : dict of str to int
        The image id of every file that was added or already present, by its name.
    new_names : set of str
        The names of the files that added a new image (the first file of each new content).
    """

    collection: str
    source: str
    total: int = 0
    added: int = 0
    present: int = 0
    names_added: int = 0
    skipped: list[SkippedImage] = field(default_factory=list)
    seconds: float = 0.0
    image_ids: dict[str, int] = field(default_factory=dict)
    new_names: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Known:
    """A file whose bytes the collection already holds (only hashed, not decoded)."""

    name: str
    sha256: str


def ingest(
    store: Store,
    source: str | Path | Iterable[Entry],
    collection: str,
    *,
    settings: Settings | None = None,
    batch_size: int = BATCH_SIZE,
    n_jobs: int = 2,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Add the images of ``source`` to ``collection`` (created when missing).

    Parameters
    ----------
    store : Store
    source : str, Path, or iterable of (name, bytes or Path)
        A folder, a ``.zip``, a labeled folder (``images/`` + ``labels.csv``), a folder of IDX
        files, or a dataset name (``mnist``, ``fashion-mnist``, ``digits``); or the files
        themselves, in order, as ``(name, bytes)`` or ``(name, path)`` (an upload to classify,
        the new files of a watched inbox); a ``(name.zip, path)`` entry stands for the images
        in that archive, named ``name.zip/member``, read within the archive limits.
    collection : str
        The collection name.
    settings : Settings, optional
        Where to look for datasets, and how large a file may be.
    batch_size : int, default=1000
        Images per transaction.
    n_jobs : int, default=2
        Threads that read, hash and check files.
    progress : callable, optional
        Called as ``progress("ingest", done, total)``.

    Returns
    -------
    IngestReport

    Raises
    ------
    InputError
        ``source`` does not exist and is not a dataset name.
    """
    started = time.perf_counter()
    opened = _open(source, settings)
    items = opened.items
    result = IngestReport(collection=collection, source=opened.label, total=len(items))
    result.skipped.extend(opened.skipped)
    few = len(items) <= FEW_FILES
    with store.write() as session:
        collection_key = ensure_collection(session, collection)
    index = ContentIndex({}, set())
    if not few:
        with store.session() as session:
            index = load_content_index(session, collection_key)
    writer = _BatchWriter(store, collection_key, index, result, look_up=few)
    tick = report(progress)
    done = 0
    tick("ingest", 0, len(items))
    prepare = _Preparer(index, store.directory)
    with bomb_guard():
        for batch in _prepared_batches(items, prepare, n_jobs, batch_size):
            writer.write(batch)
            done += len(batch)
            tick("ingest", done, len(items))
    result.seconds = time.perf_counter() - started
    return result


def _open(source: str | Path | Iterable[Entry], settings: Settings | None) -> IngestSource:
    if isinstance(source, str | Path):
        return open_source(source, settings)
    limits = ReadLimits.from_settings(settings)
    items = []
    skipped: list[SkippedImage] = []
    for name, data in source:
        if isinstance(data, bytes):
            items.append(IngestItem(name, partial(bytes, data)))
        elif name.lower().endswith(".zip"):  # as in a folder: its members, named NAME/member
            members, bad = archive_entries(data, name, limits)
            items += [IngestItem(member.name, member.read_bytes) for member in members]
            skipped += bad
        else:
            items.append(
                IngestItem(name, ImageEntry(name, data, max_bytes=limits.max_file).read_bytes)
            )
    return IngestSource(items, skipped, "files")


class _Preparer:
    """Turns an item into a ``NewImage``, a ``_Known`` file, or a ``SkippedImage`` (in threads)."""

    def __init__(self, index: ContentIndex, directory: DirectoryBlobStore | None) -> None:
        self.index = index
        self.directory = directory

    def __call__(self, item: IngestItem) -> NewImage | _Known | SkippedImage:
        try:
            data = item.read()
        except ImageReadError as exc:
            return SkippedImage(item.name, exc.reason)
        sha = sha256_bytes(data)
        # Read while the writer may add to it: a stale answer only costs a needless check, as
        # the writer decides again.
        if sha in self.index.by_sha:
            return _Known(item.name, sha)
        try:
            checked = check_image(data)
        except ImageReadError as exc:
            return SkippedImage(item.name, exc.reason)
        if self.directory is not None:
            # The file goes first; the transaction that registers it follows (see blobs.py).
            self.directory.put(sha, data)
        keep = self.directory is None
        return new_image(item.name, sha, data, checked, keep_data=keep, label=item.label)


PreparedItem = NewImage | _Known | SkippedImage


def _prepared_batches(
    items: Sequence[IngestItem],
    prepare: Callable[[IngestItem], PreparedItem],
    n_jobs: int,
    batch_size: int,
) -> Iterator[list[PreparedItem]]:
    """Prepared items in source order, in batches, with a bounded number of chunks in flight."""

    def work(start: int) -> list[PreparedItem]:
        return [prepare(item) for item in items[start : start + CHUNK_SIZE]]

    starts = iter(range(0, len(items), CHUNK_SIZE))
    window = max(2 * n_jobs, batch_size // CHUNK_SIZE + n_jobs)
    pool = ThreadPoolExecutor(max(1, n_jobs), thread_name_prefix="ingest")
    pending: deque[Future[list[PreparedItem]]] = deque()
    try:

        def submit() -> None:
            start = next(starts, None)
            if start is not None:
                pending.append(pool.submit(work, start))

        for _ in range(window):
            submit()
        batch: list[PreparedItem] = []
        while pending:
            batch.extend(pending.popleft().result())
            submit()
            while len(batch) >= batch_size:
                yield batch[:batch_size]
                batch = batch[batch_size:]
        if batch:
            yield batch
    finally:
        # On an error or Ctrl-C, do not wait for the queued chunks.
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Written:
    """What one batch wrote, to be applied to the index and the report once committed."""

    new: dict[str, NewImage]
    again: list[_Known | NewImage]
    skipped: list[SkippedImage]
    ids: dict[str, int]
    names: list[tuple[int, str]]


class _BatchWriter:
    """Writes prepared batches, one transaction each, keeping the ``ContentIndex`` current."""

    def __init__(
        self,
        store: Store,
        collection: int,
        index: ContentIndex,
        result: IngestReport,
        *,
        look_up: bool,
    ) -> None:
        self.store = store
        self.collection = collection
        self.index = index
        self.result = result
        self.look_up = look_up  # the index holds only what batches looked up so far

    def write(self, batch: list[PreparedItem]) -> None:
        if not self.look_up:
            self._apply(self._store(batch, None))
            return
        # Looked up in the transaction that writes, so two uploads of one file add it once.
        with self.store.write() as session:
            known = self.index.by_sha
            shas = [i.sha256 for i in batch if not isinstance(i, SkippedImage)]
            found = find_content(session, self.collection, [s for s in shas if s not in known])
            known.update(found.by_sha)  # rows the database holds: true whatever happens next
            self.index.names.update(found.names)
            written = self._store(batch, session)
        self._apply(written)

    def _store(self, batch: list[PreparedItem], session: Session | None) -> _Written:
        """Add the batch's new images and names (in ``session``, or in a transaction of its own)."""
        done = _Written({}, [], [], {}, [])
        for item in batch:
            if isinstance(item, SkippedImage):
                done.skipped.append(item)
            elif item.sha256 in self.index.by_sha or item.sha256 in done.new:
                done.again.append(item)  # the same bytes as an earlier file: maybe another name
            else:
                assert isinstance(item, NewImage)
                done.new[item.sha256] = item
        stored = self.index.by_sha
        done.names = self._new_names([i for i in done.again if i.sha256 in stored], stored)
        if done.new or done.names:
            writing = self.store.write() if session is None else nullcontext(session)
            with writing as active:
                keep = self.store.directory is None
                done.ids = add_images(
                    active, self.collection, list(done.new.values()), keep_data=keep
                )
                later = [i for i in done.again if i.sha256 not in stored]
                done.names += self._new_names(later, done.ids)
                add_names(active, done.names)
        return done

    def _apply(self, done: _Written) -> None:
        """Only after the commit: a failed batch must leave the index as the database is."""
        self.index.by_sha.update(done.ids)
        self.index.names.update((image_id, i.name) for i, image_id in _pairs(done.new, done.ids))
        self.index.names.update(done.names)
        for item in [*done.new.values(), *done.again]:
            self.result.image_ids[item.name] = self.index.by_sha[item.sha256]
        self.result.new_names.update(image.name for image in done.new.values())
        self.result.added += len(done.new)
        self.result.present += len(done.again)
        self.result.names_added += len(done.names)
        self.result.skipped.extend(done.skipped)

    def _new_names(
        self, again: list[_Known | NewImage], by_sha: dict[str, int]
    ) -> list[tuple[int, str]]:
        """The (image id, name) pairs among ``again`` that are not recorded yet."""
        names: list[tuple[int, str]] = []
        for item in again:
            key = (by_sha[item.sha256], item.name)
            if key not in self.index.names and key not in names:
                names.append(key)
        return names


def _pairs(new: dict[str, NewImage], ids: dict[str, int]) -> Iterator[tuple[NewImage, int]]:
    for sha, image in new.items():
        yield image, ids[sha]
