"""The JSON the API takes and gives (also what ``/docs`` shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from pixclass.services.collections import CollectionInfo
from pixclass.services.runs import ClassCard, ClassImage, RunBrief, RunInfo


class CollectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class RunSummaryOut(BaseModel):
    id: int
    status: str
    n_clusters: int | None
    features: str
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: RunBrief | None) -> RunSummaryOut | None:
        return None if run is None else cls(**run.__dict__)


class CollectionOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    n_images: int
    n_runs: int
    latest_run: RunSummaryOut | None = None

    @classmethod
    def of(cls, info: CollectionInfo, latest: RunBrief | None = None) -> CollectionOut:
        return cls(
            id=info.id,
            name=info.name,
            created_at=info.created_at,
            n_images=info.n_images,
            n_runs=info.n_runs,
            latest_run=RunSummaryOut.of(latest),
        )


class SkippedOut(BaseModel):
    name: str
    reason: str


class UploadOut(BaseModel):
    collection: str
    received: int
    added: int
    present: int
    skipped: list[SkippedOut]
    seconds: float


class RunRequest(BaseModel):
    n_clusters: int | Literal["auto"] = "auto"
    features: str = "auto"
    method: str = "gmm"
    seed: int | None = 0
    refine: bool | Literal["auto"] = "auto"
    deskew: bool | Literal["auto"] = "auto"


class RecutRequest(BaseModel):
    """A re-cut of a finished run into ``k`` classes (1 to 200)."""

    k: int = Field(ge=1, le=200)
    seed: int | None = 0


class JobOut(BaseModel):
    id: int
    kind: str
    collection: str
    state: str
    stage: str | None = None
    fraction: float | None = None
    message: str | None = None
    error: str | None = None
    params: dict[str, Any] = {}
    result: dict[str, Any] | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def of(cls, job: Any) -> JobOut:
        fields = cls.model_fields
        return cls(**{name: getattr(job, name) for name in fields if hasattr(job, name)})


class RunOut(BaseModel):
    id: int
    collection: str
    status: str
    features: str
    params: dict[str, Any]
    n_clusters: int | None
    n_images: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    timings: dict[str, Any]
    metrics: dict[str, Any]
    error: str | None

    @classmethod
    def of(cls, run: RunInfo) -> RunOut:
        return cls(**{name: getattr(run, name) for name in cls.model_fields})


class ClassOut(BaseModel):
    index: int
    name: str | None
    display_name: str
    size: int
    sample_ids: list[int]

    @classmethod
    def of(cls, card: ClassCard) -> ClassOut:
        return cls(**card.__dict__)


class ImageClassOut(BaseModel):
    image_id: int
    cluster: int | None
    class_name: str
    confidence: float
    set_by_person: bool

    @classmethod
    def of(cls, item: ClassImage) -> ImageClassOut:
        return cls(**item.__dict__)


class RenameRequest(BaseModel):
    name: str = Field(max_length=200)


class MergeRequest(BaseModel):
    classes: list[int] = Field(min_length=1)
    into: int


class SplitRequest(BaseModel):
    k: int = Field(ge=2, le=50)
    seed: int = 0


class MoveRequest(BaseModel):
    image_ids: list[int] = Field(min_length=1)
    to: int | str


class ConfirmRequest(BaseModel):
    image_ids: list[int] = Field(min_length=1)


class MovedOut(BaseModel):
    moved: int
    to: ClassOut


class CountOut(BaseModel):
    count: int


class ClusterOut(BaseModel):
    index: int
    name: str | None
    display_name: str
    size: int


class MapClass(BaseModel):
    index: int
    display_name: str
    size: int
    color: str


class MapOut(BaseModel):
    run_id: int
    n: int
    classes: list[MapClass]
    binary: str = Field(description="URL of the points as little-endian arrays")
    layout: str = "float32 x[n], float32 y[n], int32 image_id[n], int32 class[n] (-1: none)"


class SelectionExport(BaseModel):
    image_ids: list[int] = Field(min_length=1)
    format: Literal["csv", "zip"] = "csv"


class ImageRecordOut(BaseModel):
    id: int
    file_name: str
    sha256: str
    width: int
    height: int
    format: str
    size_bytes: int
    added_at: datetime
    known_label: str | None


class ImageOut(BaseModel):
    id: int
    collection: str
    file_name: str
    names: list[str]
    sha256: str
    width: int
    height: int
    format: str
    size_bytes: int
    known_label: str | None
    run_id: int | None
    image_class: ImageClassOut | None = None
    similar: list[ImageClassOut] = []


class ClassifiedOut(BaseModel):
    name: str
    image_id: int | None
    new: bool
    class_name: str | None
    cluster: int | None
    confidence: float
    set_by_person: bool
    reason: str | None


class TargetIn(BaseModel):
    url: str = Field(description="An Apprise URL; secrets as {secret:NAME} placeholders")
    tags: list[str] = Field(default=[], description="Events it gets; none: every event")


class TargetOut(BaseModel):
    display: str
    tags: list[str]
    attach: bool


class SendOut(BaseModel):
    target: str
    event_type: str
    ok: bool
    error: str | None
    attempts: int
    sent_at: datetime | str
    duration: float
    # Recorded sends only: their number, "sent" / "retrying" / "failed", the next try.
    id: int | None = None
    status: str | None = None
    next_attempt_at: datetime | None = None


class CorrectionOut(BaseModel):
    """One logged correction (move, confirm, merge, split, rename)."""

    id: int
    run_id: int
    who: str
    at: datetime
    kind: str
    summary: str
    n_images: int
    undone: bool

    @classmethod
    def of(cls, event: Any) -> CorrectionOut:
        return cls(**event.__dict__)


class ReviewItemOut(BaseModel):
    """An image of the review queue and why it is there."""

    image_id: int
    cluster: int | None
    class_name: str
    confidence: float
    set_by_person: bool
    reason: str
    runner_up: str | None
    group_size: int

    @classmethod
    def of(cls, item: Any) -> ReviewItemOut:
        return cls(**item.__dict__)
