"""The things pixclass tells people about, as plain values.

``jobs`` builds these and hands them to a ``Notifier``; ``format`` turns them into messages. Each
event class carries an ``event_type`` tag: a target tagged with it receives only those events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar


def run_link(base_url: str, run_id: int | str) -> str:
    """The web app's page for a run: ``{base_url}/runs/{run_id}``."""
    return f"{base_url.rstrip('/')}/runs/{run_id}"


@dataclass(frozen=True)
class RunFinished:
    """A clustering run finished.

    Parameters
    ----------
    collection : str
        Name of the image collection.
    run_id : int or str
        The run's id, as the store knows it.
    classes : sequence of (str, int)
        Each class found, as (name, number of images), in any order.
    metrics : mapping of str to float, optional
        Scores against known labels (``{"ACC": 0.91, "NMI": 0.87}``); empty when there are none.
    link : str, default=""
        Address of the run in the web app; build it with ``run_link(settings.base_url, run_id)``.
    montage_png : bytes or None, default=None
        A PNG from ``format.montage_png`` sent as an attachment where the target supports one.
    """

    event_type: ClassVar[str] = "run-finished"

    collection: str
    run_id: int | str
    classes: Sequence[tuple[str, int]]
    metrics: Mapping[str, float] = field(default_factory=dict)
    link: str = ""
    montage_png: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RunFailed:
    """A clustering run stopped with an error (``error`` is the text shown to the user)."""

    event_type: ClassVar[str] = "run-failed"

    collection: str
    run_id: int | str
    error: str
    link: str = ""


@dataclass(frozen=True)
class ImagesClassified:
    """New images were sorted into a collection's classes (``counts``: class name -> images).

    ``skipped`` lists files that could not be used, as (name, reason); ``waiting`` counts images
    added but not classified because the collection has no finished run yet.
    """

    event_type: ClassVar[str] = "images-classified"

    collection: str
    count: int
    counts: Mapping[str, int] = field(default_factory=dict)
    link: str = ""
    skipped: Sequence[tuple[str, str]] = ()
    waiting: int = 0


@dataclass(frozen=True)
class ReviewNeeded:
    """A run left ``count`` images whose class is uncertain; a person should look at them."""

    event_type: ClassVar[str] = "review-needed"

    collection: str
    run_id: int | str
    count: int
    link: str = ""


@dataclass(frozen=True)
class TestMessage:
    """A message that only proves a target works. It reaches every target, whatever its tags."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    event_type: ClassVar[str] = "test"

    note: str = ""


Event = RunFinished | RunFailed | ImagesClassified | ReviewNeeded | TestMessage

EVENT_TYPES: tuple[str, ...] = (
    RunFinished.event_type,
    RunFailed.event_type,
    ImagesClassified.event_type,
    ReviewNeeded.event_type,
    TestMessage.event_type,
)
