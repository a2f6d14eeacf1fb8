"""``ingest``: add the images of a folder, zip or dataset to a collection, idempotently.

Files are read, hashed, checked and thumbnailed in a thread pool while the main thread writes
finished batches, each batch in one transaction. So:

- a second ingest of the same files adds nothing: a file whose SHA-256 the collection holds is
  only hashed (no decoding), and a new name for it is recorded as another name of that image;
- a killed ingest loses at most the batch it was writing; running it again continues;
- a bad file is skipped with its reason and never stops the rest.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pixclass.config import Settings
from pixclass.io.decode import ImageReadError, bomb_warnings_as_errors
from pixclass.io.hashing import sha256_bytes
from pixclass.io.imageset import SkippedImage
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
    load_content_index,
    new_image,
)

# Images per transaction: big enough that commits cost little, small enough that a kill loses
# little and memory stays flat (a batch of photos holds their bytes until it is written).
BATCH_SIZE = 1000
# Images per thread task: hand-offs must be rare next to hashing a 300-byte file.
CHUNK_SIZE = 250


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


@dataclass(frozen=True)
class _Known:
    """A file whose bytes the collection already holds (only hashed, not decoded)."""

    name: str
    sha256: str


def ingest(
    store: Store,
    source: str | Path | IngestSource,
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
    source : str, Path or IngestSource
        A folder, a ``.zip``, a labeled folder (``images/`` + ``labels.csv``), a folder of IDX
        files, or a dataset name (``mnist``, ``fashion-mnist``, ``digits``); or the items to
        ingest, already listed (a watched inbox lists its new files itself).
    collection : str
        The collection name.
    settings : Settings, optional
        Where to look for datasets.
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
    opened = source if isinstance(source, IngestSource) else open_source(source, settings)
    result = IngestReport(collection=collection, source=opened.label, total=len(opened.items))
    result.skipped.extend(opened.skipped)
    with store.write() as session:
        collection_key = ensure_collection(session, collection)
    with store.session() as session:
        index = load_content_index(session, collection_key)
    writer = _BatchWriter(store, collection_key, index, result)
    tick = report(progress)
    done = 0
    tick("ingest", 0, len(opened.items))
    prepare = _Preparer(index, store.directory)
    with bomb_warnings_as_errors():
        for batch in _prepared_batches(opened.items, prepare, n_jobs, batch_size):
            writer.write(batch)
            done += len(batch)
            tick("ingest", done, len(opened.items))
    result.seconds = time.perf_counter() - started
    return result


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


class _BatchWriter:
    """Writes prepared batches, one transaction each, keeping the ``ContentIndex`` current."""

    def __init__(
        self, store: Store, collection: int, index: ContentIndex, result: IngestReport
    ) -> None:
        self.store = store
        self.collection = collection
        self.index = index
        self.result = result

    def write(self, batch: list[PreparedItem]) -> None:
        new: dict[str, NewImage] = {}
        again: list[_Known | NewImage] = []
        skipped: list[SkippedImage] = []
        for item in batch:
            if isinstance(item, SkippedImage):
                skipped.append(item)
            elif item.sha256 in self.index.by_sha or item.sha256 in new:
                again.append(item)  # the same bytes as an earlier file: maybe another name
            else:
                assert isinstance(item, NewImage)
                new[item.sha256] = item
        ids: dict[str, int] = {}
        stored = self.index.by_sha
        names = self._new_names([i for i in again if i.sha256 in stored], stored)
        if new or names:
            with self.store.write() as session:
                ids = add_images(
                    session,
                    self.collection,
                    list(new.values()),
                    keep_data=self.store.directory is None,
                )
                names += self._new_names([i for i in again if i.sha256 not in stored], ids)
                add_names(session, names)
        # Only after the commit: a failed batch must leave the index as the database is.
        self.index.by_sha.update(ids)
        self.index.names.update((image_id, image.name) for image, image_id in _pairs(new, ids))
        self.index.names.update(names)
        for item in [*new.values(), *again]:
            self.result.image_ids[item.name] = stored[item.sha256]
        self.result.added += len(new)
        self.result.present += len(again)
        self.result.names_added += len(names)
        self.result.skipped.extend(skipped)

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
