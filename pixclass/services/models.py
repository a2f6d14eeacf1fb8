"""Loaded run models: one LRU cache that the web app, the CLI and the jobs share.

A run's ``Model`` holds the PCA rows of the images it was fitted on, in image id order, and the
neighbour vote's index over them; ``LoadedRun`` adds the image id of each row, so that "the
images nearest this one" and "this class's rows" are asked of the model itself. Images the run
did not see (classified later) are decoded and projected the same way when needed.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pixclass.cluster.model import Model
from pixclass.errors import ModelError, PixclassError
from pixclass.store.browse import latest_done_run_id, run_image_ids
from pixclass.store.collections import list_collections
from pixclass.store.db import Store
from pixclass.store.images import iter_image_bytes
from pixclass.store.results import load_model_bytes

# Runs whose models stay loaded; a 70,000-image model takes about 20 MB.
CACHED_RUNS = 4

log = logging.getLogger(__name__)


@dataclass
class LoadedRun:
    """One run's model with the ids of the images it was fitted on (one per training row)."""

    run_id: int
    model: Model
    training_ids: np.ndarray
    _row_of: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        n_rows = len(self.model.training_rows)
        if n_rows != len(self.training_ids):
            raise ModelError(
                f"the model of run {self.run_id} was fitted on {n_rows} images but the run has "
                f"{len(self.training_ids)}; start a new run"
            )
        self._row_of = {int(image_id): i for i, image_id in enumerate(self.training_ids)}

    def rows_for(self, store: Store, image_ids: Sequence[int]) -> np.ndarray:
        """PCA rows of ``image_ids`` (stored rows where the run saw the image, else computed)."""
        training = self.model.training_rows
        out = np.zeros((len(image_ids), training.shape[1]), dtype=np.float32)
        position: dict[int, int] = {}
        for i, image_id in enumerate(image_ids):
            row = self._row_of.get(int(image_id))
            if row is None:
                position[int(image_id)] = i
            else:
                out[i] = training[row]
        for chunk in iter_image_bytes(store, list(position)):
            decoded = np.stack([self.model.decode(data) for _, data in chunk])
            for (image_id, _), row in zip(chunk, self.model.project(decoded), strict=True):
                out[position[image_id]] = row
        return out

    def neighbours(self, row: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` training images nearest to ``row``: (image id, distance), nearest first."""
        distances, indices = self.model.neighbours(np.asarray(row, np.float32)[None], k)
        return [
            (int(self.training_ids[i]), float(d))
            for d, i in zip(distances[0], indices[0], strict=True)
            if i >= 0
        ]


class LoadedRuns:
    """The loaded runs, least recently used dropped first. Safe to share between threads."""

    def __init__(self, size: int = CACHED_RUNS) -> None:
        self.size = size
        self._runs: OrderedDict[int, LoadedRun] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[int, threading.Lock] = {}

    def get(self, store: Store, run_id: int) -> LoadedRun:
        with self._lock:
            if run_id in self._runs:
                self._runs.move_to_end(run_id)
                return self._runs[run_id]
            loading = self._loading.setdefault(run_id, threading.Lock())
        with loading:  # one thread loads a run; the others wait for it
            with self._lock:
                if run_id in self._runs:
                    return self._runs[run_id]
            loaded = load_run(store, run_id)
            with self._lock:
                self._runs[run_id] = loaded
                while len(self._runs) > self.size:
                    self._runs.popitem(last=False)
                self._loading.pop(run_id, None)
            return loaded

    def run_ids(self) -> list[int]:
        """The loaded runs, least recently used first."""
        with self._lock:
            return list(self._runs)


def load_run(store: Store, run_id: int) -> LoadedRun:
    """Load the model of run ``run_id`` with its training image ids, warmed up."""
    import faiss

    # The app searches for one or a few images at a time. faiss's default OpenMP team (one
    # thread per CPU it sees, often more than the process may use) makes each such search wait
    # on the team: measured on 70,000 MNIST images, one search took 17 ms that way, while a
    # whole classification of one image takes about 6 ms with one thread.
    faiss.omp_set_num_threads(1)
    model = Model.from_bytes(load_model_bytes(store, run_id), source=f"the model of run {run_id}")
    n_rows = len(model.training_rows)
    ids = np.asarray(run_image_ids(store, run_id, limit=n_rows), dtype=np.int64)
    loaded = LoadedRun(run_id, model, ids)
    # Build the model's own search index now, once, rather than in a request.
    loaded.model.predict(loaded.model.blank())
    return loaded


# The one cache of loaded runs per open store, shared by the web app, the CLI and the jobs of a
# process. Keyed by the Store object: run ids of two databases must never meet.
_CACHES: weakref.WeakKeyDictionary[Store, LoadedRuns] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def loaded_run(store: Store, run_id: int) -> LoadedRun:
    """Run ``run_id``'s model from this store's cache of loaded runs (loaded on first use)."""
    return _cache(store).get(store, run_id)


def _cache(store: Store) -> LoadedRuns:
    with _CACHES_LOCK:
        cache = _CACHES.get(store)
        if cache is None:
            cache = _CACHES[store] = LoadedRuns()
    return cache


def loaded_run_ids(store: Store) -> list[int]:
    """The runs of this store whose models are loaded now."""
    return _cache(store).run_ids()


def warm_newest_runs(store: Store) -> list[int]:
    """Load the model of each collection's newest finished run (as many as the cache keeps).

    The first load of a process imports the numerical libraries (torch, umap, faiss: about 10 s
    on 2 busy cores), so the app does it when it starts rather than in a person's first request
    (the first viewer opened, image classified). A run that cannot be loaded is skipped: its
    requests will say why.
    """
    newest = [latest_done_run_id(store, info.id) for info in list_collections(store)]
    runs = sorted((r for r in newest if r is not None), reverse=True)[:CACHED_RUNS]
    warmed = []
    for run_id in runs:
        try:
            loaded_run(store, run_id)
        except PixclassError as error:
            log.info("run %s not loaded ahead: %s", run_id, error)
            continue
        warmed.append(run_id)
    return warmed
