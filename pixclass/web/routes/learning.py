"""Learning from the person: the log of a run's corrections, undoing the last one, and learning
a new run from them (a background job)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pixclass.jobs import get_job, submit_job
from pixclass.services.corrections import list_corrections, undo_last_correction
from pixclass.services.runs import get_run
from pixclass.web.deps import AppContext, ContextDep, StoreDep, render
from pixclass.web.schemas import CorrectionOut, JobOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["corrections"])


@pages.post("/runs/{run_id}/learn")
def learn_page(request: Request, ctx: ContextDep, run_id: int) -> Response:
    return render(request, "_job.html", job=get_job(ctx.store, _learn(ctx, run_id)))


@api.post("/runs/{run_id}/learn", status_code=202)
def learn_api(ctx: ContextDep, run_id: int) -> JobOut:
    """Start learning from the run's corrections: a job whose result names the new run, in
    which every image a person placed stays placed and the rest is re-predicted."""
    return JobOut.of(get_job(ctx.store, _learn(ctx, run_id)))


def _learn(ctx: AppContext, run_id: int) -> int:
    run = get_run(ctx.store, run_id)
    return submit_job(ctx.settings, "learn", run.collection, {"run_id": run_id})


@api.get("/runs/{run_id}/corrections")
def corrections_api(db: StoreDep, run_id: int, limit: int = 100) -> list[CorrectionOut]:
    """The run's corrections, newest first (undone ones say so)."""
    found = list_corrections(db, run_id, limit=min(max(limit, 1), 1000))
    return [CorrectionOut.of(event) for event in found]


@api.post("/runs/{run_id}/undo")
def undo_api(db: StoreDep, run_id: int) -> CorrectionOut:
    """Undo the run's newest correction not undone yet (404 when none is left)."""
    return CorrectionOut.of(undo_last_correction(db, run_id))
