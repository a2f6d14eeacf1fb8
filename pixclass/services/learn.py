"""Learn from a person's corrections: a new run of the same collection in which every image a
person placed stays where they put it, every class keeps its name, and everything else is
re-predicted by a model trained on the person's labels (weighted up) plus the confident rest.

Which model is trained follows what the run used: a run with a refinement network (digits,
grey images) gets that network trained again on the new labels; a run on a pretrained network's
features gets a head on the frozen features (``pixclass.cluster.learned``). Either becomes the
new run's model, so images classified later (``classify``) are classified by what was learned.
Like a re-cut, nothing is clustered again: the images keep their map positions, and the class
numbers of the old run (names, split-off classes, emptied ones) are kept as they are.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixclass.cluster.discover import representatives
from pixclass.cluster.model import Model
from pixclass.cluster.predictor import NeighbourVote
from pixclass.errors import InputError
from pixclass.jsonable import jsonable
from pixclass.progress import ProgressCallback, report
from pixclass.services.models import LoadedRun, loaded_run
from pixclass.store.correction_log import list_corrections, person_placed
from pixclass.store.db import Store
from pixclass.store.images import iter_image_bytes
from pixclass.store.results import (
    ImageClass,
    RunResult,
    effective_classes,
    list_clusters,
    save_result,
    set_cluster_names,
)
from pixclass.store.runs import create_run, fail_run, get_run, start_run

# A person's label counts as this many of the machine's confident ones.
PERSON_WEIGHT = 5
# Of each class, the images the model is surest of (this share) are trained on too...
CONFIDENT_SHARE = 0.8
# ...at most this many per class, drawn at random among them (bounds the time on 70,000 images).
PER_CLASS = 3000


@dataclass(frozen=True)
class _Labels:
    """The old run's classes of every image, and what training takes from them."""

    ids: list[int]
    labels: np.ndarray  # -1: unknown
    confidence: np.ndarray
    person: np.ndarray  # bool: placed by a person in this run
    n_classes: int


def learn_run(
    store: Store,
    run_id: int,
    *,
    person_weight: int = PERSON_WEIGHT,
    seed: int | None = 0,
    progress: ProgressCallback | None = None,
) -> int:
    """Make a new run of ``run_id``'s collection that learned from its corrections; its id.

    Raises ``InputError`` when the run is not finished or no person has corrected it yet.
    """
    old = get_run(store, run_id)
    if old.status != "done":
        raise InputError(f"run {run_id} is {old.status}; only a finished run can be learned from")
    tell = report(progress)
    started = time.perf_counter()
    shown = effective_classes(store, run_id)
    known = _labels(store, run_id, shown)
    if not known.person.any() and not _corrected(store, run_id):
        raise InputError(
            f"run {run_id} has no corrections to learn from yet; move, confirm, split or "
            "rename something first"
        )
    loaded = loaded_run(store, run_id)
    rng = np.random.default_rng(seed)
    rows, weights = _training_rows(known, person_weight, rng)
    model, proba = _learn(store, loaded, known, rows, weights, seed, tell)
    labels, confidence = _new_classes(known, proba)
    model.clusterer = _clusterer(loaded, known, labels, confidence)
    tell("learn: save", 0, 1)
    params = {
        **old.params,
        "learned_from": run_id,
        "person_labels": int(known.person.sum()),
        "person_weight": person_weight,
        "trained_on": len(rows),
        "learner": "network" if model.refiner is not None else "head",
    }
    new_id = _save(
        store,
        old.collection,
        old.features,
        shown,
        labels,
        confidence,
        known,
        model,
        params,
        time.perf_counter() - started,
        old.metrics,
    )
    names = {c.index: c.name for c in list_clusters(store, run_id) if c.name}
    set_cluster_names(store, new_id, names)
    tell("learn: save", 1, 1)
    return new_id


def _corrected(store: Store, run_id: int) -> bool:
    return any(not event.undone for event in list_corrections(store, run_id, limit=1000))


def _labels(store: Store, run_id: int, shown: list[ImageClass]) -> _Labels:
    placed = person_placed(store, run_id)
    clusters = list_clusters(store, run_id)
    n_classes = max((c.index for c in clusters), default=-1) + 1
    return _Labels(
        ids=[row.image_id for row in shown],
        labels=np.array([-1 if row.cluster is None else row.cluster for row in shown], np.int64),
        confidence=np.array([row.confidence for row in shown], np.float32),
        person=np.array([row.image_id in placed for row in shown], bool),
        n_classes=n_classes,
    )


def _training_rows(
    known: _Labels, person_weight: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to train on and their weights: every person's label, and of each class the
    ``CONFIDENT_SHARE`` the run is surest of (at most ``PER_CLASS``, drawn at random)."""
    chosen = [np.flatnonzero(known.person)]
    machine = ~known.person & (known.labels >= 0)
    for c in np.unique(known.labels[machine]):
        members = np.flatnonzero(machine & (known.labels == c))
        order = members[np.argsort(-known.confidence[members], kind="stable")]
        eligible = order[: max(1, int(round(CONFIDENT_SHARE * len(order))))]
        if len(eligible) > PER_CLASS:
            eligible = rng.choice(eligible, PER_CLASS, replace=False)
        chosen.append(eligible)
    rows = np.concatenate(chosen)
    weights = np.where(known.person[rows], float(person_weight), 1.0)
    return rows, weights


def _learn(
    store: Store,
    loaded: LoadedRun,
    known: _Labels,
    rows: np.ndarray,
    weights: np.ndarray,
    seed: int | None,
    tell: ProgressCallback,
) -> tuple[Model, np.ndarray]:
    """The new model, and its class probabilities for every image of the run."""
    old = loaded.model
    model = copy.copy(old)
    if old.refiner is not None:
        from pixclass.cluster.refine import train_refiner

        images = _decoded(store, old, known.ids, tell)
        # A weight is a repetition: each copy is seen through another augmentation.
        repeated = np.repeat(rows, weights.astype(np.int64))
        model.refiner = train_refiner(
            images[repeated],
            known.labels[repeated],
            known.n_classes,
            random_state=seed,
            progress=tell,
        )
        model.head = None
        tell("learn: relabel", 0, 1)
        proba = model.refiner.predict_proba(images)
    else:
        from pixclass.cluster.learned import fit_row_head

        tell("learn: train", 0, 1)
        features = loaded.rows_for(store, known.ids)
        model.head = fit_row_head(
            features[rows], known.labels[rows], weights, known.n_classes, random_state=seed
        )
        tell("learn: train", 1, 1)
        tell("learn: relabel", 0, 1)
        proba = model.head.predict_proba(features)
    tell("learn: relabel", 1, 1)
    return model, proba


def _decoded(store: Store, model: Model, ids: list[int], tell: ProgressCallback) -> np.ndarray:
    """Every image of the run as the model's network sees it (mode, size, deskewed)."""
    tell("learn: decode", 0, len(ids))
    position = {image_id: n for n, image_id in enumerate(ids)}
    out: np.ndarray | None = None
    done = 0
    for chunk in iter_image_bytes(store, ids):
        arrays = model.prepare(np.stack([model.decode(data) for _, data in chunk]))
        if out is None:
            out = np.zeros((len(ids), *arrays.shape[1:]), arrays.dtype)
        out[[position[i] for i, _ in chunk]] = arrays
        done += len(chunk)
        tell("learn: decode", done, len(ids))
    if out is None:
        raise InputError("the run holds no images to learn from")
    return out


def _new_classes(known: _Labels, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model's class for every image, but a person's placement for those a person placed;
    images the old run found unlike every class (unknown) stay unknown."""
    labels = proba.argmax(axis=1).astype(np.int64)
    confidence = proba.max(axis=1).astype(np.float32)
    unknown = (known.labels < 0) & ~known.person
    labels[unknown], confidence[unknown] = -1, 0.0
    labels[known.person] = known.labels[known.person]
    confidence[known.person] = 1.0
    return labels, confidence


def _clusterer(
    loaded: LoadedRun, known: _Labels, labels: np.ndarray, confidence: np.ndarray
) -> Any:
    """The old clusterer with the new classes on its training rows: its neighbour vote keeps
    deciding which new images are unlike everything (unknown)."""
    old = loaded.model.clusterer
    where = {image_id: n for n, image_id in enumerate(known.ids)}
    rows = [where[int(i)] for i in loaded.training_ids]
    out = copy.copy(old)
    out.labels_ = labels[rows]
    out.confidence_ = confidence[rows]
    out.n_clusters_ = int(len(np.unique(out.labels_[out.labels_ >= 0])))
    predictor = old.predictor_
    out.predictor_ = NeighbourVote(
        predictor.rows,
        out.labels_,
        out.confidence_,
        n_neighbors=predictor.n_neighbors,
        unknown_quantile=old.unknown_quantile,
        random_state=predictor.random_state,
    )
    return out


def _save(
    store: Store,
    collection: str,
    features: str,
    shown: list[ImageClass],
    labels: np.ndarray,
    confidence: np.ndarray,
    known: _Labels,
    model: Model,
    params: dict[str, Any],
    seconds: float,
    old_metrics: dict[str, Any],
) -> int:
    new_id = create_run(store, collection, features=features, params=jsonable(params))
    try:
        start_run(store, new_id)
        has_map = all(row.x is not None for row in shown)
        xy = np.array([[row.x or 0.0, row.y or 0.0] for row in shown], dtype=np.float32)
        result = RunResult(
            image_ids=known.ids,
            labels=labels,
            confidence=confidence,
            embedding_2d=xy if has_map else None,
            representatives=representatives(labels, confidence, 16),
            n_clusters=known.n_classes,
            params=jsonable(params),
            timings={"learn": seconds},
            metrics={
                "n_images": len(labels),
                "n_clusters": int(len(np.unique(labels[labels >= 0]))),
                "n_unknown": int((labels < 0).sum()),
                "mean_confidence": float(confidence.mean()) if len(confidence) else 0.0,
                "n_skipped": old_metrics.get("n_skipped", 0),
                "changed": int(np.sum((labels != known.labels) & ~known.person)),
            },
            model=model.to_bytes(),
            set_by_person=known.person,
        )
        save_result(store, new_id, result)
    except BaseException as exc:
        fail_run(store, new_id, f"learning failed: {exc}")
        raise
    return new_id
