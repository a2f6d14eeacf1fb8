"""What each kind of job accepts, checked when it is submitted (not minutes later in a worker).

* ``cluster``: the clustering options of ``pixclass.services.options`` (``n_clusters``,
  ``features``, ``seed``, ``method``, ``refine``, ``deskew``), checked by its one validator.
* ``ingest``: ``source``, a folder or ``.zip`` inside the data dir (an upload; a relative path
  is taken relative to the data dir), or a dataset name (``mnist``, ``digits``, ...).
* ``classify``: ``image_ids`` (images of the collection) or ``source`` (as for ingest: its images
  are ingested first); neither: every image the current run does not hold yet.
* ``learn``: ``run_id``, the finished run of the collection whose corrections to learn from.

Every kind also takes ``review_percent``: send "review needed" when more than this share of the
images has a confidence below 0.5 (default: the collection's setting, else 10).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.services.options import DEFAULTS, METHODS, check_cluster_options, whole_number
from pixclass.store.schema import JOB_KINDS

__all__ = ["METHODS", "check_params", "check_source"]

ALLOWED = {
    "cluster": {*DEFAULTS, "review_percent"},
    "ingest": {"source"},
    "classify": {"image_ids", "source", "review_percent"},
    "learn": {"run_id"},
}
MAX_IMAGE_IDS = 100_000


def check_params(settings: Settings, kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters of a ``kind`` job, checked and with defaults filled in (JSON-able).

    Raises
    ------
    InputError
        An unknown kind or parameter, or a value that cannot be used; the message says which.
    """
    if kind not in JOB_KINDS:
        raise InputError(f"unknown job kind {kind!r}; use one of {', '.join(JOB_KINDS)}")
    given = dict(params or {})
    unknown = set(given) - ALLOWED[kind]
    if unknown:
        raise InputError(
            f"unknown parameter(s) {', '.join(sorted(unknown))} for a {kind} job; "
            f"it takes {', '.join(sorted(ALLOWED[kind]))}"
        )
    checked: dict[str, Any] = {}
    if "review_percent" in given:
        checked["review_percent"] = _percent(given["review_percent"])
    if kind == "cluster":
        checked.update(check_cluster_options({k: v for k, v in given.items() if k in DEFAULTS}))
    elif kind == "learn":
        if "run_id" not in given:
            raise InputError("a learn job needs run_id: the run whose corrections to learn from")
        checked["run_id"] = whole_number(given["run_id"], "run_id", "a whole number")
    elif kind == "ingest":
        if "source" not in given:
            raise InputError("an ingest job needs a source: a folder or .zip in the data dir")
        checked["source"] = check_source(settings, given["source"])
    else:
        checked.update(_classify(settings, given))
    return checked


def _percent(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"review_percent must be a number from 0 to 100, got {value!r}") from None
    if not 0 <= number <= 100:
        raise InputError(f"review_percent must be a number from 0 to 100, got {value!r}")
    return number


def _classify(settings: Settings, given: dict[str, Any]) -> dict[str, Any]:
    if "image_ids" in given and "source" in given:
        raise InputError("give a classify job image_ids or a source, not both")
    if "source" in given:
        return {"source": check_source(settings, given["source"])}
    if "image_ids" not in given:
        return {}
    ids = given["image_ids"]
    if not isinstance(ids, list | tuple) or not ids:
        raise InputError("image_ids must be a non-empty list of image ids")
    if len(ids) > MAX_IMAGE_IDS:
        raise InputError(f"at most {MAX_IMAGE_IDS} image ids per job; split the list")
    checked = [whole_number(i, "every image id", "a whole number") for i in ids]
    return {"image_ids": checked}


def check_source(settings: Settings, source: Any) -> str:
    """A folder or zip inside the data dir (as an absolute path), or a dataset name.

    Jobs run in a worker that may serve a web app, so they read files only where pixclass keeps
    its own (uploads go there), never elsewhere on the machine.
    """
    from pixclass.io.datasets import canonical_name

    if not isinstance(source, str) or not source.strip():
        raise InputError("source must be a path in the data dir or a dataset name")
    if canonical_name(source.strip()) is not None and not Path(source).exists():
        return source.strip()
    data_dir = settings.data_dir.expanduser().resolve()
    path = Path(source).expanduser()
    path = (path if path.is_absolute() else data_dir / path).resolve()
    if not path.is_relative_to(data_dir):
        raise InputError(
            f"{source} is outside the data dir {data_dir}; a job reads only files there (copy "
            "or upload them there first, or run `pixclass ingest SOURCE -c NAME` yourself)"
        )
    if not path.exists():
        raise InputError(f"no such file or directory: {path}")
    return str(path)
