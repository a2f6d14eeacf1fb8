"""A finished run's model, loaded once and kept by the app: classify new images, find an image's
nearest neighbours, split a class.

The run's model holds the PCA rows of the images it was fitted on (its neighbour vote searches
them), in image id order; those rows are the feature space used here. Images the run did not see
(classified later) are decoded and projected the same way when needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixclass.cluster.model import Model
from pixclass.cluster.split import split_rows
from pixclass.errors import ModelError
from pixclass.io.decode import decode_bytes
from pixclass.store import (
    ImageRecord,
    Store,
    get_collection,
    get_image,
    image_names,
    load_model_bytes,
)
from pixclass.store.browse import (
    ClassCard,
    ClassImage,
    Nav,
    class_cards,
    class_images,
    classes_of,
    get_class,
    image_class,
    latest_done_run_id,
    nav,
    run_image_ids,
)
from pixclass.store.classify import CurrentModel, class_names, classify_images
from pixclass.store.corrections import split_cluster
from pixclass.store.images import iter_image_bytes
from pixclass.store.results import ClusterInfo
from pixclass.store.uploads import add_files

# Runs whose models stay loaded; a 70,000-image model takes about 20 MB.
CACHED_RUNS = 4


class RunSpace:
    """One run's model with the ids of the images it was fitted on."""

    def __init__(self, run_id: int, model: Model, training_ids: Sequence[int]) -> None:
        self.run_id = run_id
        self.model = model
        rows = np.ascontiguousarray(model.clusterer.predictor_.rows, dtype=np.float32)
        if len(rows) != len(training_ids):
            raise ModelError(
                f"the model of run {run_id} was fitted on {len(rows)} images but the run has "
                f"{len(training_ids)}; start a new run"
            )
        self.rows = rows
        self.training_ids = np.asarray(training_ids, dtype=np.int64)
        self._row_of = {int(image_id): i for i, image_id in enumerate(self.training_ids)}
        self._index: Any = None
        self._lock = threading.Lock()

    def decode(self, data: bytes) -> np.ndarray:
        """An encoded image as the model's working mode and size."""
        mode = "RGB" if self.model.color_mode == "RGB" else "L"
        return decode_bytes(data, mode=mode, size=tuple(self.model.image_size))  # type: ignore[arg-type]

    def project(self, images: np.ndarray) -> np.ndarray:
        """Decoded images to rows of the run's PCA space."""
        features = self.model.extractor.transform(self.model.prepare(images))
        return np.asarray(self.model.clusterer.reduction_.to_pca(features), dtype=np.float32)

    def rows_for(self, store: Store, image_ids: Sequence[int]) -> np.ndarray:
        """PCA rows of ``image_ids`` (stored rows where the run saw the image, else computed)."""
        out = np.zeros((len(image_ids), self.rows.shape[1]), dtype=np.float32)
        missing = []
        for i, image_id in enumerate(image_ids):
            row = self._row_of.get(int(image_id))
            if row is None:
                missing.append(i)
            else:
                out[i] = self.rows[row]
        position = {int(image_ids[i]): i for i in missing}
        for chunk in iter_image_bytes(store, list(position)):
            decoded = np.stack([self.decode(data) for _, data in chunk])
            for (image_id, _), row in zip(chunk, self.project(decoded), strict=True):
                out[position[image_id]] = row
        return out

    def neighbours(self, row: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` training images nearest to ``row``: (image id, distance), nearest first."""
        with self._lock:
            if self._index is None:
                import faiss

                self._index = faiss.IndexFlatL2(self.rows.shape[1])
                self._index.add(self.rows)
        k = min(k, len(self.rows))
        distances, indices = self._index.search(np.ascontiguousarray(row[None], np.float32), k)
        return [
            (int(self.training_ids[i]), float(np.sqrt(max(d, 0.0))))
            for d, i in zip(distances[0], indices[0], strict=True)
            if i >= 0
        ]


class RunSpaces:
    """The loaded runs, least recently used dropped first. Safe to share between threads."""

    def __init__(self, size: int = CACHED_RUNS) -> None:
        self.size = size
        self._spaces: OrderedDict[int, RunSpace] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[int, threading.Lock] = {}

    def get(self, store: Store, run_id: int) -> RunSpace:
        with self._lock:
            if run_id in self._spaces:
                self._spaces.move_to_end(run_id)
                return self._spaces[run_id]
            loading = self._loading.setdefault(run_id, threading.Lock())
        with loading:  # one thread loads a run; the others wait for it
            with self._lock:
                if run_id in self._spaces:
                    return self._spaces[run_id]
            space = _load(store, run_id)
            with self._lock:
                self._spaces[run_id] = space
                while len(self._spaces) > self.size:
                    self._spaces.popitem(last=False)
                self._loading.pop(run_id, None)
            return space


def _load(store: Store, run_id: int) -> RunSpace:
    import faiss

    # The app searches for one or a few images at a time. faiss's default OpenMP team (one
    # thread per CPU it sees, often more than the process may use) makes each such search wait
    # on the team: measured on 70,000 MNIST images, one search took 17 ms that way, while a
    # whole classification of one image takes about 6 ms with one thread.
    faiss.omp_set_num_threads(1)
    model = Model.from_bytes(load_model_bytes(store, run_id), source=f"the model of run {run_id}")
    n_rows = len(model.clusterer.predictor_.rows)
    space = RunSpace(run_id, model, run_image_ids(store, run_id, limit=n_rows))
    # Build the model's own search index now, once, rather than in two request threads at once.
    space.model.predict(np.zeros((1, *space.model.image_size), dtype=np.uint8))
    return space


def similar_images(
    store: Store, spaces: RunSpaces, run_id: int, image_id: int, k: int = 12
) -> list[ClassImage]:
    """The images of the run most like ``image_id``, nearest first, with their classes."""
    space = spaces.get(store, run_id)
    row = space.rows_for(store, [image_id])[0]
    found = [i for i, _ in space.neighbours(row, k + 1) if i != image_id][:k]
    classes = classes_of(store, run_id, found)
    return [classes[i] for i in found if i in classes]


def split_class(
    store: Store, spaces: RunSpaces, run_id: int, index: int, k: int, seed: int = 0
) -> list[ClusterInfo]:
    """Split a class of a run into ``k`` parts by k-means in the run's feature space."""
    card = get_class(store, run_id, index)
    members = class_images(store, run_id, index, limit=max(card.size, 1))
    ids = [m.image_id for m in members]
    space = spaces.get(store, run_id)
    parts = split_rows(space.rows_for(store, ids), k, random_state=seed)
    return split_cluster(store, run_id, index, [[ids[i] for i in part] for part in parts])


@dataclass(frozen=True)
class Classified:
    """One uploaded file: the image it became and its class, or why it could not be used."""

    name: str
    image_id: int | None
    new: bool
    class_name: str | None  # None: unknown (unlike every class) or skipped
    cluster: int | None
    confidence: float
    set_by_person: bool
    reason: str | None


def classify_files(
    store: Store,
    spaces: RunSpaces,
    collection: str,
    run_id: int,
    files: Sequence[tuple[str, bytes]],
) -> list[Classified]:
    """Add files to a collection and give each the class the run's model predicts.

    Images the run classified already (or a person did) keep that class and report it.
    """
    space = spaces.get(store, run_id)
    added = add_files(store, collection, files)
    usable = [item.image_id for item in added if item.image_id is not None]
    reasons: dict[int, str] = {}
    if usable:
        current = CurrentModel(run_id, space.model, class_names(store, run_id))
        reasons = dict(classify_images(store, collection, usable, current=current).skipped)
    classes = classes_of(store, run_id, usable)
    out = []
    for item in added:
        known = classes.get(item.image_id) if item.image_id is not None else None
        out.append(
            Classified(
                name=item.name,
                image_id=item.image_id,
                new=item.new,
                class_name=known.class_name if known and known.cluster is not None else None,
                cluster=known.cluster if known else None,
                confidence=known.confidence if known else 0.0,
                set_by_person=bool(known and known.set_by_person),
                reason=item.reason or reasons.get(item.image_id or 0),
            )
        )
    return out


@dataclass(frozen=True)
class ImageDetails:
    """Everything the image page shows."""

    image: ImageRecord
    names: list[str]
    collection_id: int
    run_id: int | None
    image_class: ClassImage | None
    similar: list[ClassImage]
    classes: list[ClassCard]
    nav: Nav


def image_details(
    store: Store, spaces: RunSpaces, image_id: int, run_id: int | None = None, k: int = 12
) -> ImageDetails:
    """An image, its class and confidence in a run (default: the newest finished run of its
    collection) and the ``k`` images most like it."""
    image = get_image(store, image_id)
    collection = get_collection(store, image.collection)
    if run_id is None:
        run_id = latest_done_run_id(store, collection.id)
    found: ClassImage | None = None
    similar: list[ClassImage] = []
    classes: list[ClassCard] = []
    if run_id is not None:
        found = image_class(store, run_id, image_id)
        classes = class_cards(store, run_id, samples=0)
        if k > 0:
            similar = similar_images(store, spaces, run_id, image_id, k)
    return ImageDetails(
        image=image,
        names=image_names(store, image_id),
        collection_id=collection.id,
        run_id=run_id,
        image_class=found,
        similar=similar,
        classes=sorted(classes, key=lambda c: c.index),
        nav=nav(store, run_id=run_id) if run_id else nav(store, collection_id=collection.id),
    )
