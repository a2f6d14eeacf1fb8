"""Runs: a collection's page lists its runs and starts new ones as background jobs, whose
progress the page polls every second until they finish (or are cancelled)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from pixclass.jobs import cancel_job, get_job, list_jobs, submit_job
from pixclass.services.collections import collection_by_id
from pixclass.services.pages import nav
from pixclass.services.recut import recut_run
from pixclass.services.runs import class_counts, get_run, list_runs
from pixclass.web.deps import ContextDep, StoreDep, render
from pixclass.web.responses import go_to
from pixclass.web.schemas import JobOut, RecutRequest, RunOut, RunRequest

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["runs"])

ACTIVE = ("queued", "running")


def _feature_choices() -> list[str]:
    from pixclass.features import available_extractors

    return ["auto", *available_extractors()]


@pages.get("/collections/{collection_id}")
def collection_page(request: Request, db: StoreDep, collection_id: int) -> Response:
    where = nav(db, collection_id=collection_id)
    name = where.collection.name
    jobs = [j for j in list_jobs(db, name, limit=20) if j.state in ACTIVE]
    return render(
        request,
        "collection.html",
        nav=where,
        runs=list_runs(db, name),
        counts=class_counts(db, collection_id),
        jobs=jobs,
        features=_feature_choices(),
        tab="runs",
    )


@pages.post("/collections/{collection_id}/runs")
def start_run_page(
    request: Request,
    ctx: ContextDep,
    collection_id: int,
    features: str = Form("auto"),
    k: str = Form("auto"),
    method: str = Form("gmm"),
) -> Response:
    collection = collection_by_id(ctx.store, collection_id)
    # The job's one validator checks k: "ten" is an error naming what is accepted, not "auto".
    options = {"n_clusters": k, "features": features, "method": method}
    job_id = submit_job(ctx.settings, "cluster", collection.name, options)
    return render(request, "_job.html", job=get_job(ctx.store, job_id))


@pages.get("/jobs/{job_id}/progress")
def job_progress(request: Request, db: StoreDep, job_id: int) -> Response:
    return render(request, "_job.html", job=get_job(db, job_id))


@pages.post("/jobs/{job_id}/cancel")
def cancel_page(request: Request, db: StoreDep, job_id: int) -> Response:
    return render(request, "_job.html", job=cancel_job(db, job_id))


@pages.get("/runs/{run_id}")
def run_page(run_id: int) -> Response:
    return RedirectResponse(f"/runs/{run_id}/classes", status_code=303)


@api.get("/collections/{collection_id}/runs")
def list_runs_api(db: StoreDep, collection_id: int) -> list[RunOut]:
    return [RunOut.of(run) for run in list_runs(db, collection_by_id(db, collection_id).name)]


@api.post("/collections/{collection_id}/runs", status_code=202)
def start_run_api(
    request: Request, ctx: ContextDep, collection_id: int, body: RunRequest
) -> JobOut:
    """Start clustering the collection in the background; poll ``/api/jobs/{id}``."""
    collection = collection_by_id(ctx.store, collection_id)
    job_id = submit_job(ctx.settings, "cluster", collection.name, body.model_dump())
    return JobOut.of(get_job(ctx.store, job_id))


@pages.post("/runs/{run_id}/recut")
def recut_page(request: Request, db: StoreDep, run_id: int, k: int = Form(...)) -> Response:
    """The classes page's "fewer / more classes": the new run's classes page."""
    return go_to(request, f"/runs/{recut_run(db, run_id, k)}/classes")


@api.post("/runs/{run_id}/recut", status_code=201)
def recut_run_api(db: StoreDep, run_id: int, body: RecutRequest) -> RunOut:
    """Re-cut a finished run into ``k`` classes: a new run, in seconds, on the same embedding."""
    return RunOut.of(get_run(db, recut_run(db, run_id, body.k, seed=body.seed)))


@api.get("/runs/{run_id}")
def get_run_api(db: StoreDep, run_id: int) -> RunOut:
    return RunOut.of(get_run(db, run_id))


@api.get("/jobs")
def list_jobs_api(db: StoreDep, collection_id: int | None = None, limit: int = 50) -> list[JobOut]:
    name = collection_by_id(db, collection_id).name if collection_id is not None else None
    return [JobOut.of(job) for job in list_jobs(db, name, limit=min(max(limit, 1), 500))]


@api.get("/jobs/{job_id}")
def get_job_api(db: StoreDep, job_id: int) -> JobOut:
    return JobOut.of(get_job(db, job_id))


@api.post("/jobs/{job_id}/cancel")
def cancel_job_api(db: StoreDep, job_id: int) -> JobOut:
    return JobOut.of(cancel_job(db, job_id))
