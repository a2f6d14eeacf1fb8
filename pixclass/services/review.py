"""The review queue, ordered to teach the model most per click.

Least-confident-first shows fifty near-copies of one confusing shape before anything else; each
click after the first teaches little. Here the ``POOL`` least confident unreviewed images are
grouped by k-means in the run's feature space, and the queue takes one image per group before a
second from any: the most uncertain image of the largest uncertain groups first (uncertainty x
how many uncertain images it stands for). Each item says why it is there: its confidence and
the two classes its nearest neighbours are torn between.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from pixclass.cluster.predictor import NeighbourVote
from pixclass.errors import ModelError, NotFoundError
from pixclass.services.models import loaded_run
from pixclass.store.browse import ClassImage, review_queue
from pixclass.store.db import Store
from pixclass.store.results import display_name, list_clusters

# Unreviewed images, least confident first, that the queue picks from.
POOL = 1500
# About this many uncertain images per group (at most MAX_GROUPS groups).
PER_GROUP = 5
MAX_GROUPS = 300
NEIGHBOURS = 15


@dataclass(frozen=True)
class ReviewItem:
    """An image in the review queue and why it is there."""

    image_id: int
    cluster: int | None
    class_name: str
    confidence: float
    set_by_person: bool
    reason: str
    runner_up: str | None  # the other class its neighbours vote for, if any
    group_size: int  # uncertain images its group holds (it stands for them)


def teaching_queue(
    store: Store, run_id: int, *, offset: int = 0, limit: int = 48, seed: int = 0
) -> list[ReviewItem]:
    """A page of the review queue in teaching order (see the module docstring)."""
    pool = review_queue(store, run_id, limit=POOL)
    if not pool:
        return []
    try:
        loaded = loaded_run(store, run_id)
    except (ModelError, NotFoundError):  # no usable model: least confident first
        loaded = None
    if loaded is None or len(pool) < 3:
        return [_item(p, None, 1) for p in pool][offset : offset + limit]
    ids = [p.image_id for p in pool]
    rows = loaded.rows_for(store, ids)
    groups = _groups(rows, seed)
    names = {c.index: display_name(c.index, c.name) for c in list_clusters(store, run_id)}
    runner_up = _runner_up(loaded.model.clusterer.predictor_, rows, [p.cluster for p in pool])
    order = _order(np.array([p.confidence for p in pool], np.float32), groups)
    sizes = np.bincount(groups)
    page = order[max(0, offset) : max(0, offset) + max(0, limit)]
    return [
        _item(
            pool[n], names.get(runner_up[n]) if runner_up[n] >= 0 else None, int(sizes[groups[n]])
        )
        for n in page
    ]


def _groups(rows: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    k = int(np.clip(len(rows) // PER_GROUP, 1, MAX_GROUPS))
    if k == 1:
        return np.zeros(len(rows), np.int64)
    fitted = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(rows)
    return np.asarray(fitted.labels_, np.int64)


def _order(confidence: np.ndarray, groups: np.ndarray) -> list[int]:
    """Round robin over the groups, largest expected value first: in round r, the r-th most
    uncertain image of every group that has one, groups by (1 - confidence) x group size."""
    sizes = np.bincount(groups)
    members = {
        g: sorted(np.flatnonzero(groups == g), key=lambda n: (confidence[n], n))
        for g in range(len(sizes))
        if sizes[g]
    }
    order: list[int] = []
    for r in range(int(sizes.max())):
        picks = [m[r] for m in members.values() if r < len(m)]
        picks.sort(key=lambda n: (-(1.0 - confidence[n]) * sizes[groups[n]], n))
        order += [int(n) for n in picks]
    return order


def _runner_up(predictor: NeighbourVote, rows: np.ndarray, clusters: list[int | None]) -> list[int]:
    """For each row, the class its nearest training images vote for most after its own."""
    _, idx = predictor.nearest(rows, NEIGHBOURS)
    labels = predictor.labels
    out = []
    for n, near in enumerate(idx):
        votes = Counter(int(labels[i]) for i in near if i >= 0 and labels[i] >= 0)
        own = clusters[n]
        votes.pop(-1 if own is None else int(own), None)
        out.append(votes.most_common(1)[0][0] if votes else -1)
    return out


def _item(image: ClassImage, runner_up: str | None, group_size: int) -> ReviewItem:
    cluster, name, confidence = image.cluster, image.class_name, float(image.confidence)
    if cluster is None:
        reason = "unlike every class"
    elif runner_up:
        reason = f"low confidence {confidence:.2f}, between {name} and {runner_up}"
    else:
        reason = f"low confidence {confidence:.2f}"
    if group_size > 1:
        reason += f"; stands for {group_size} uncertain images like it"
    return ReviewItem(
        image_id=image.image_id,
        cluster=cluster,
        class_name=name,
        confidence=confidence,
        set_by_person=False,
        reason=reason,
        runner_up=runner_up,
        group_size=group_size,
    )
