"""What each kind of job does: cluster, ingest, classify, learn. Each returns the job's result dict.

Notifications go out at the end, while the job is still running (stage "notify"), so that a
job that is done has also told everyone; a failing notification is recorded, never raised.
"""

from __future__ import annotations

import logging
from typing import Any

from pixclass.jobs import messages
from pixclass.jobs.runner import JobContext, JobKind, StagePlan
from pixclass.notify import Event, SendResult
from pixclass.progress import Cancelled
from pixclass.services.classify import UNKNOWN, ClassifyReport, classify_images
from pixclass.services.cluster import run_collection_clustering
from pixclass.services.ingest import IngestReport, ingest
from pixclass.services.learn import learn_run
from pixclass.services.options import DEFAULTS, check_cluster_options
from pixclass.services.targets import review_needed, review_percent, send_counts, send_event
from pixclass.store import get_run
from pixclass.store.jobs import JobInfo, update_job_result
from pixclass.store.reports import RunSummary, run_summary

log = logging.getLogger(__name__)

# The share of a job each stage covers (stage names are the library's progress stages).
CLUSTER_PLAN: StagePlan = {
    "prepare": (0.0, 0.02),
    "decode": (0.02, 0.1),
    "features": (0.1, 0.2),
    "reduce (PCA, UMAP)": (0.2, 0.7),
    "choose k": (0.7, 0.8),
    "cluster": (0.8, 0.9),
    "map": (0.9, 0.96),
    "notify": (0.96, 1.0),
}
INGEST_PLAN: StagePlan = {"ingest": (0.0, 1.0)}
LEARN_PLAN: StagePlan = {
    "learn: decode": (0.0, 0.2),
    "learn: train": (0.2, 0.85),
    "learn: relabel": (0.85, 0.95),
    "learn: save": (0.95, 1.0),
}
CLASSIFY_PLAN: StagePlan = {"ingest": (0.0, 0.3), "classify": (0.3, 0.95), "notify": (0.95, 1.0)}
# Skipped files listed in a job's result (all are counted).
MAX_LISTED = 50


def stage_plan(job: JobInfo) -> StagePlan:
    if job.kind == "cluster":
        return CLUSTER_PLAN
    if job.kind == "ingest":
        return INGEST_PLAN
    if job.kind == "learn":
        return LEARN_PLAN
    if "source" in job.params:
        return CLASSIFY_PLAN
    return {"classify": (0.0, 0.95), "notify": (0.95, 1.0)}


def run_cluster(ctx: JobContext) -> dict[str, Any]:
    """Cluster the collection, store the run, tell people (run finished, maybe review needed)."""
    job, store, params = ctx.job, ctx.store, ctx.job.params
    run: dict[str, int] = {}

    def on_run(run_id: int) -> None:
        run["id"] = run_id
        update_job_result(store, job.id, {"run_id": run_id})

    ctx.progress("prepare", 0, 1)
    try:
        run_id = run_collection_clustering(
            store,
            job.collection,
            **check_cluster_options({k: v for k, v in params.items() if k in DEFAULTS}),
            cache_dir=ctx.settings.cache_dir,
            progress=ctx.progress,
            on_run=on_run,
        )
    except Cancelled:
        raise
    except Exception as exc:
        if "id" in run:
            error = get_run(store, run["id"]).error or str(exc)
            _send(
                ctx, messages.run_failed(ctx.settings, job.collection, run["id"], error), run["id"]
            )
        raise
    ctx.progress.cancellable = False  # the run is stored: from here on there is no going back
    ctx.progress("notify", 0, 1)
    summary = run_summary(store, run_id)
    sends = notify_run_finished(ctx, summary)
    ctx.progress("notify", 1, 1)
    return {
        "run_id": run_id,
        "n_clusters": sum(1 for name, _ in summary.classes if name != UNKNOWN),
        "n_images": summary.n_images,
        "n_low_confidence": summary.n_low_confidence,
        "classes": [[name, size] for name, size in summary.classes],
        "metrics": summary.metrics,
        "notifications": send_counts(sends),
    }


def notify_run_finished(ctx: JobContext, summary: RunSummary) -> list[SendResult]:
    """Run finished, and review needed when too many of its images are uncertain."""
    sends = _send(ctx, messages.run_finished(ctx.settings, ctx.store, summary), summary.run_id)
    percent = review_percent(ctx.store, ctx.job.collection, ctx.job.params.get("review_percent"))
    if review_needed(summary.n_low_confidence, summary.n_images, percent):
        count = summary.n_low_confidence
        event = messages.review(ctx.settings, ctx.job.collection, summary.run_id, count)
        sends += _send(ctx, event, summary.run_id)
    return sends


def run_learn(ctx: JobContext) -> dict[str, Any]:
    """Make a new run of the collection that learned from a run's corrections."""
    learned_from = int(ctx.job.params["run_id"])
    run_id = learn_run(ctx.store, learned_from, progress=ctx.progress)
    ctx.progress.cancellable = False
    summary = run_summary(ctx.store, run_id)
    return {
        "run_id": run_id,
        "learned_from": learned_from,
        "n_images": summary.n_images,
        "classes": [[name, size] for name, size in summary.classes],
        "metrics": summary.metrics,
    }


def run_ingest(ctx: JobContext) -> dict[str, Any]:
    """Add the images of a folder or zip in the data dir (an upload) to the collection."""
    found = _ingest(ctx)
    return _ingest_result(found)


def run_classify(ctx: JobContext) -> dict[str, Any]:
    """Classify new images with the collection's current model; tell people how it went."""
    job, store, params = ctx.job, ctx.store, ctx.job.params
    image_ids = params.get("image_ids")
    ingested: IngestReport | None = None
    if "source" in params:
        ingested = _ingest(ctx)
        image_ids = sorted(set(ingested.image_ids.values()))
    found = classify_images(store, job.collection, image_ids, progress=ctx.progress)
    ctx.progress.cancellable = False
    ctx.progress("notify", 0, 1)
    sends = notify_classified(ctx, found, ingested)
    ctx.progress("notify", 1, 1)
    result = {
        "run_id": found.run_id,
        "classified": found.classified,
        "already_classified": found.already,
        "counts": found.counts,
        "n_low_confidence": found.n_low_confidence,
        "skipped": len(found.skipped) + (len(ingested.skipped) if ingested else 0),
        "notifications": send_counts(sends),
    }
    if ingested is not None:
        result["ingest"] = _ingest_result(ingested)
    return result


def notify_classified(
    ctx: JobContext, found: ClassifyReport, ingested: IngestReport | None
) -> list[SendResult]:
    skipped = [(s.path, s.reason) for s in ingested.skipped] if ingested else []
    skipped += [(f"image {image_id}", reason) for image_id, reason in found.skipped]
    event = messages.images_classified(
        ctx.settings, ctx.job.collection, found.run_id, found.counts, skipped=skipped
    )
    sends = _send(ctx, event, found.run_id)
    percent = review_percent(ctx.store, ctx.job.collection, ctx.job.params.get("review_percent"))
    if review_needed(found.n_low_confidence, found.total, percent):
        review = messages.review(
            ctx.settings, ctx.job.collection, found.run_id, found.n_low_confidence
        )
        sends += _send(ctx, review, found.run_id)
    return sends


def _ingest(ctx: JobContext) -> IngestReport:
    return ingest(
        ctx.store,
        ctx.job.params["source"],
        ctx.job.collection,
        settings=ctx.settings,
        progress=ctx.progress,
    )


def _ingest_result(found: IngestReport) -> dict[str, Any]:
    return {
        "added": found.added,
        "present": found.present,
        "names_added": found.names_added,
        "skipped": len(found.skipped),
        "skipped_files": [[s.path, s.reason] for s in found.skipped[:MAX_LISTED]],
        "seconds": round(found.seconds, 3),
    }


def _send(ctx: JobContext, event: Event, run_id: int | None) -> list[SendResult]:
    return send_event(
        ctx.settings,
        ctx.store,
        event,
        collection=ctx.job.collection,
        job_id=ctx.job.id,
        run_id=run_id,
    )


KINDS: dict[str, JobKind] = {
    "cluster": run_cluster,
    "ingest": run_ingest,
    "classify": run_classify,
    "learn": run_learn,
}
