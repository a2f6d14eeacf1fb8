"""Learning from the person: the log of a run's corrections, undoing the last one, and (a job)
learning a new run from them."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from pixclass.services.collections import Store
from pixclass.services.corrections import list_corrections, undo_last_correction
from pixclass.web.deps import store
from pixclass.web.schemas import CorrectionOut

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["corrections"])


@api.get("/runs/{run_id}/corrections")
def corrections_api(
    run_id: int, limit: int = 100, db: Store = Depends(store)
) -> list[CorrectionOut]:
    """The run's corrections, newest first (undone ones say so)."""
    return [
        CorrectionOut.of(e) for e in list_corrections(db, run_id, limit=min(max(limit, 1), 1000))
    ]


@api.post("/runs/{run_id}/undo")
def undo_api(run_id: int, db: Store = Depends(store)) -> CorrectionOut:
    """Undo the run's newest correction not undone yet (404 when none is left)."""
    return CorrectionOut.of(undo_last_correction(db, run_id))
