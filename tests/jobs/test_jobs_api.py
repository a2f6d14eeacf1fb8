"""The jobs API the web app calls: submit (checked parameters), get, list, cancel; job states
and progress in the database; a job whose worker died is marked failed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jobs_samples import write_digits

from pixclass.config import Settings
from pixclass.errors import ConflictError, InputError, MissingExtraError, NotFoundError
from pixclass.jobs import cancel_job, get_job, list_jobs, submit_job
from pixclass.jobs.params import METHODS, check_params
from pixclass.jobs.queue import job_queue
from pixclass.jobs.runner import JobProgress, execute_job
from pixclass.progress import Cancelled
from pixclass.store import effective_classes, list_images, list_runs, open_store
from pixclass.store.jobs import JOB_INTERRUPTED, create_job, start_job
from pixclass.store.schema import Job


def test_ingest_job_reads_only_the_data_dir(settings: Settings, tmp_path: Path) -> None:
    write_digits(settings.data_dir / "uploads" / "batch", 0, 30)
    (settings.data_dir / "uploads" / "batch" / "broken.png").write_bytes(b"not an image")
    write_digits(tmp_path / "elsewhere", 0, 3)

    job_id = submit_job(settings, "ingest", "new", {"source": "uploads/batch"})

    with open_store(settings) as store:
        job = get_job(store, job_id)
        assert len(list_images(store, "new")) == 30
    assert (job.state, job.kind, job.collection, job.fraction) == ("done", "ingest", "new", 1.0)
    assert job.result["added"] == 30 and job.result["skipped"] == 1
    assert job.result["skipped_files"][0][0] == "broken.png"
    assert job.started_at and job.finished_at and job.task_id
    assert [s["stage"] for s in job.stages] == ["ingest"]
    json.dumps(job.to_dict())  # the web app sends it as it is
    with pytest.raises(InputError, match="outside the data dir"):
        submit_job(settings, "ingest", "new", {"source": str(tmp_path / "elsewhere")})
    with pytest.raises(InputError, match="outside the data dir"):
        submit_job(settings, "ingest", "new", {"source": "../../elsewhere"})


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("sort", {}, "unknown job kind 'sort'"),
        ("cluster", {"k": 3}, "unknown parameter"),
        ("cluster", {"n_clusters": 0}, "n_clusters must be 'auto' or at least 1"),
        ("cluster", {"n_clusters": "many"}, "n_clusters must be 'auto' or a whole number"),
        ("cluster", {"features": "colours"}, "unknown feature extractor 'colours'"),
        ("cluster", {"method": "dbscan"}, "unknown method 'dbscan'"),
        ("cluster", {"review_percent": 120}, "review_percent must be a number from 0 to 100"),
        ("ingest", {}, "needs a source"),
        ("classify", {"image_ids": []}, "non-empty list"),
        ("classify", {"image_ids": [1], "source": "x"}, "not both"),
    ],
)
def test_bad_parameters_are_refused_at_submit(
    settings: Settings, kind: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        submit_job(settings, kind, "digits", params)


def test_parameters_get_defaults_and_methods_match_the_pipeline(settings: Settings) -> None:
    from pixclass.cluster.assign import METHODS as PIPELINE_METHODS

    assert METHODS == PIPELINE_METHODS
    assert check_params(settings, "cluster", {"n_clusters": "8", "seed": "none"}) == {
        "n_clusters": 8,
        "features": "auto",
        "seed": None,
        "method": "gmm",
        "refine": "auto",
        "deskew": "auto",
    }


def test_classify_job_adds_images_to_the_current_run(clustered: Settings) -> None:
    write_digits(clustered.data_dir / "more", 500, 12)
    with open_store(clustered) as store:
        from pixclass.services.ingest import ingest

        found = ingest(store, clustered.data_dir / "more", "digits")
        new_ids = sorted(found.image_ids.values())
        old_id = list_images(store, "digits")[0].id

    job_id = submit_job(clustered, "classify", "digits", {"image_ids": [*new_ids, old_id]})

    with open_store(clustered) as store:
        job = get_job(store, job_id)
        classes = {c.image_id: c for c in effective_classes(store, 1)}
    assert job.state == "done", job.error
    assert (job.result["run_id"], job.result["classified"]) == (1, 12)
    assert job.result["already_classified"] == 1
    assert sum(job.result["counts"].values()) == 13
    assert set(new_ids) <= set(classes)  # stored in run 1, with a class and a confidence
    assert all(0.0 <= classes[i].confidence <= 1.0 for i in new_ids)
    again = submit_job(clustered, "classify", "digits", {})  # nothing left unclassified
    with open_store(clustered) as store:
        assert get_job(store, again).result["classified"] == 0


def test_classify_without_a_model_fails_with_advice(settings: Settings) -> None:
    write_digits(settings.data_dir / "up", 0, 3)
    submit_job(settings, "ingest", "fresh", {"source": "up"})

    job_id = submit_job(settings, "classify", "fresh", {})

    with open_store(settings) as store:
        job = get_job(store, job_id)
    assert job.state == "failed"
    assert "no finished run" in (job.error or "") and "pixclass cluster" in (job.error or "")


def test_cancel_a_queued_job_and_a_running_one(clustered: Settings) -> None:
    with open_store(clustered) as store:
        queued = create_job(store, "cluster", "digits", check_params(clustered, "cluster", {}))
        info = cancel_job(store, queued)
        assert (info.state, info.cancel_requested) == ("cancelled", True)
        with pytest.raises(ConflictError, match="already cancelled"):
            cancel_job(store, queued)
        with pytest.raises(NotFoundError):
            cancel_job(store, 999)
    execute_job(clustered, queued)  # a worker that takes it later skips it
    with open_store(clustered) as store:
        assert get_job(store, queued).started_at is None
        assert len(list_runs(store, "digits")) == 1

        running = create_job(store, "cluster", "digits", {})
        assert start_job(store, running) is not None
        progress = JobProgress(store, running, {"decode": (0.0, 0.5)})
        progress("decode", 5, 10)
        assert get_job(store, running).fraction == 0.25
        assert cancel_job(store, running).state == "running"  # it stops at its next report
        with pytest.raises(Cancelled):
            progress("decode", 10, 10)


def test_a_job_whose_worker_died_is_marked_failed_when_listed(clustered: Settings) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    with open_store(clustered) as store:
        job_id = create_job(store, "cluster", "digits", {})
        start_job(store, job_id)
        with store.write() as session:
            row = session.get(Job, job_id)
            assert row is not None
            row.pid = int(dead.stdout)
        [job] = list_jobs(store, "digits")
    assert (job.state, job.error) == ("failed", JOB_INTERRUPTED)


def test_queue_settings_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="unknown job queue 'amqp://x'"):
        job_queue(Settings(data_dir=tmp_path, queue_url="amqp://x"))
    sqlite = job_queue(Settings(data_dir=tmp_path, queue_url="sqlite"))
    assert sqlite.description == f"SQLite file {tmp_path / 'queue.db'}"
    redis = job_queue(Settings(data_dir=tmp_path, queue_url="redis://:secret@127.0.0.1:1/0"))
    assert "secret" not in redis.description and ":****@" in redis.description
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(MissingExtraError, match=r"pixclass\[redis\]"):
        job_queue(Settings(data_dir=tmp_path, queue_url="redis://127.0.0.1:2/0"))


def test_a_cluster_job_reports_progress_through_the_features_stage(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every report is kept (no rate limit), so what the job card can show is known exactly
    # rather than sampled by a browser that may miss a fast stage.
    from pixclass.jobs import runner
    from pixclass.jobs.kinds import CLUSTER_PLAN

    write_digits(settings.data_dir / "up", 0, 200)
    submit_job(settings, "ingest", "digits", {"source": "up"})
    reports: list[tuple[str, float]] = []
    store_report = runner.report_progress

    def recording(store: object, job_id: int, stage: str, fraction: float, *rest: object) -> bool:
        reports.append((stage, fraction))
        return store_report(store, job_id, stage, fraction, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(runner, "MIN_REPORT_INTERVAL", 0.0)
    monkeypatch.setattr(runner, "report_progress", recording)
    params = {"features": "hog", "n_clusters": 5, "refine": False, "deskew": False, "seed": 0}
    job_id = submit_job(settings, "cluster", "digits", params)

    with open_store(settings) as store:
        job = get_job(store, job_id)
    assert job.state == "done", job.error
    fractions = [fraction for _, fraction in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    start, end = CLUSTER_PLAN["features"]
    inside = [f for stage, f in reports if stage == "features" and start < f < end]
    assert len(inside) >= 2, reports  # it moves within the stage, not only at its ends
    assert "features" in [s["stage"] for s in job.stages]
