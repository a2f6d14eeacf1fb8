"""Summaries of a run for messages: its classes and sizes, scores, uncertain images, examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pixclass.store.assignments import LOW_CONFIDENCE
from pixclass.store.db import Store
from pixclass.store.results import UNKNOWN, display_name
from pixclass.store.runs import run_row
from pixclass.store.schema import Assignment, Cluster, Collection

# Scores against known labels, as ``evaluate_labels`` names them -> as messages show them.
SHOWN_SCORES = {"acc": "ACC", "nmi": "NMI", "ari": "ARI"}


@dataclass(frozen=True)
class RunSummary:
    """What a message says about a run.

    Attributes
    ----------
    classes : list of (str, int)
        Class name (a person's, else ``cluster-N``; ``unknown`` for label -1) and images, largest
        first.
    metrics : dict of str to float
        ACC, NMI and ARI against the labels the images were ingested with; empty without them.
    n_low_confidence : int
        Images whose confidence is below ``LOW_CONFIDENCE``.
    """

    run_id: int
    collection: str
    status: str
    error: str | None
    classes: list[tuple[str, int]]
    metrics: dict[str, float]
    n_images: int
    n_low_confidence: int


def run_summary(store: Store, run_id: int) -> RunSummary:
    """The classes, sizes, scores and uncertain images of a run."""
    with store.session() as session:
        run = run_row(session, run_id)
        collection = session.scalar(
            select(Collection.name).where(Collection.id == run.collection_id)
        )
        names = _cluster_names(session, run_id)
        sizes = session.execute(
            select(Assignment.cluster, func.count())
            .where(Assignment.run_id == run_id)
            .group_by(Assignment.cluster)
        ).all()
        low = session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.run_id == run_id, Assignment.confidence < LOW_CONFIDENCE)
        )
        classes = [
            (UNKNOWN if cluster is None else display_name(cluster, names.get(cluster)), int(n))
            for cluster, n in sizes
        ]
        classes.sort(key=lambda item: (-item[1], item[0]))
        return RunSummary(
            run_id=run_id,
            collection=collection or "",
            status=run.status,
            error=run.error,
            classes=classes,
            metrics=_scores(run.metrics or {}),
            n_images=sum(n for _, n in classes),
            n_low_confidence=int(low or 0),
        )


def _cluster_names(session: Session, run_id: int) -> dict[int, str | None]:
    rows = session.execute(select(Cluster.index, Cluster.name).where(Cluster.run_id == run_id))
    return {int(index): name for index, name in rows}


def _scores(metrics: dict[str, Any]) -> dict[str, float]:
    known = metrics.get("against_known_labels") or {}
    return {shown: float(known[key]) for key, shown in SHOWN_SCORES.items() if key in known}


def top_images(
    store: Store, run_id: int, per_class: int = 6, max_classes: int = 20
) -> list[tuple[str, list[int]]]:
    """The most confident images of each class of a run, largest classes first.

    Returns (class name, image ids best first) for at most ``max_classes`` classes.
    """
    ranked = (
        select(
            Assignment.image_id,
            Assignment.cluster,
            func.row_number()
            .over(
                partition_by=Assignment.cluster,
                order_by=(Assignment.confidence.desc(), Assignment.image_id),
            )
            .label("rank"),
        )
        .where(Assignment.run_id == run_id, Assignment.cluster.is_not(None))
        .subquery()
    )
    with store.session() as session:
        rows = session.execute(
            select(ranked.c.image_id, ranked.c.cluster)
            .where(ranked.c.rank <= per_class)
            .order_by(ranked.c.cluster, ranked.c.rank)
        ).all()
        names = _cluster_names(session, run_id)
        counted = session.execute(
            select(Assignment.cluster, func.count())
            .where(Assignment.run_id == run_id, Assignment.cluster.is_not(None))
            .group_by(Assignment.cluster)
        )
        sizes = {int(cluster or 0): int(n) for cluster, n in counted}
    by_cluster: dict[int, list[int]] = {}
    for image_id, cluster in rows:
        by_cluster.setdefault(int(cluster), []).append(int(image_id))
    order = sorted(by_cluster, key=lambda c: (-sizes.get(c, 0), c))[:max_classes]
    return [(display_name(c, names.get(c)), by_cluster[c]) for c in order]
