"""Learning from the person: the log of a run's corrections, undoing the last one, and learning
a new run from them (a background job)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from pixclass.jobs import get_job, submit_job
from pixclass.services.collections import Store
from pixclass.services.corrections import list_corrections, undo_last_correction
from pixclass.services.runs import get_run
from pixclass.web.deps import context, render, store
from pixclass.web.schemas import CorrectionOut, JobOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["corrections"])


@pages.post("/runs/{run_id}/learn")
def learn_page(request: Request, run_id: int) -> Response:
    return render(
        request, "_job.html", job=get_job(context(request).store, _learn(request, run_id))
    )


@api.post("/runs/{run_id}/learn", status_code=202)
def learn_api(request: Request, run_id: int) -> JobOut:
    """Start learning from the run's corrections: a job whose result names the new run, in
    which every image a person placed stays placed and the rest is re-predicted."""
    return JobOut.of(get_job(context(request).store, _learn(request, run_id)))


def _learn(request: Request, run_id: int) -> int:
    ctx = context(request)
    run = get_run(ctx.store, run_id)
    return submit_job(ctx.settings, "learn", run.collection, {"run_id": run_id})


@api.get("/runs/{run_id}/corrections")
def corrections_api(
    run_id: int, limit: int = 100, db: Store = Depends(store)
) -> list[CorrectionOut]:
    """The run's corrections, newest first (undone ones say so)."""
    found = list_corrections(db, run_id, limit=min(max(limit, 1), 1000))
    return [CorrectionOut.of(event) for event in found]


@api.post("/runs/{run_id}/undo")
def undo_api(run_id: int, db: Store = Depends(store)) -> CorrectionOut:
    """Undo the run's newest correction not undone yet (404 when none is left)."""
    return CorrectionOut.of(undo_last_correction(db, run_id))
