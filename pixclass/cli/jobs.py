"""``pixclass jobs list|show|submit|cancel`` and ``pixclass worker``: background work."""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from pixclass.cli.common import err_console, get_settings, user_errors
from pixclass.cli.store import opened_store
from pixclass.errors import InputError
from pixclass.jobs import JobInfo


@click.group("jobs")
def jobs() -> None:
    """Background jobs (cluster, ingest, classify): list, show, submit, cancel."""


def _when(job: JobInfo) -> str:
    moment = job.finished_at or job.started_at or job.created_at
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@jobs.command("list")
@click.option("--collection", "-c", default=None, help="Only the jobs of this collection.")
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_context
def jobs_list(ctx: click.Context, collection: str | None, limit: int) -> None:
    """The jobs, newest first: id, kind, collection, state, progress, time, error."""
    from pixclass.jobs import list_jobs

    with opened_store(ctx) as store:
        found = list_jobs(store, collection, limit)
    if not found:
        err_console.print("no jobs yet; `pixclass jobs submit cluster -c NAME` queues one")
    for job in found:
        progress = f"{job.fraction:.0%}" + (f" {job.stage}" if job.state == "running" else "")
        click.echo(
            f"{job.id}\t{job.kind}\t{job.collection}\t{job.state}\t{progress}\t{_when(job)}"
            + (f"\t{job.error}" if job.error else "")
        )


@jobs.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Everything, as one JSON object.")
@click.pass_context
def jobs_show(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """A job's state, progress, parameters, result and error."""
    from pixclass.jobs import get_job

    with opened_store(ctx) as store:
        job = get_job(store, job_id)
    if as_json:
        click.echo(json.dumps(job.to_dict(), indent=2, sort_keys=True))
        return
    click.echo(f"job {job.id}: {job.kind} of {job.collection}: {job.state}")
    click.echo(f"progress: {job.fraction:.0%} {job.message or ''}".rstrip())
    if job.cancel_requested and job.state == "running":
        click.echo("cancel requested: it stops at its next progress report")
    if job.error:
        click.echo(f"error: {job.error}")
    for label, moment in (
        ("created", job.created_at),
        ("started", job.started_at),
        ("finished", job.finished_at),
    ):
        if moment is not None:
            click.echo(f"{label}: {moment.isoformat(timespec='seconds')}")
    if job.pid is not None:
        click.echo(f"worker: pid {job.pid} on {job.host}")
    for label, values in (("params", job.params), ("result", job.result)):
        if values:
            click.echo(f"{label}: {json.dumps(values, sort_keys=True)}")
    for stage in job.stages:
        click.echo(f"  {stage['at']:>9.2f} s  {stage['stage']}")


@jobs.command("submit")
@click.argument("kind", type=click.Choice(["cluster", "ingest", "classify"]))
@click.option("--collection", "-c", required=True, help="Collection to work on.")
@click.option(
    "--param",
    "-p",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A job parameter; VALUE is read as JSON when it can be (n_clusters=8, "
    "image_ids=[1,2]), else as text (source=uploads/a.zip). Repeat for several.",
)
@click.pass_context
def jobs_submit(ctx: click.Context, kind: str, collection: str, pairs: tuple[str, ...]) -> None:
    """Queue a KIND job (cluster, ingest, classify) for a worker; prints its id.

    \b
    cluster:  n_clusters (auto), features (pixels), seed (0), method (gmm)
    ingest:   source: a folder or .zip inside the data dir
    classify: image_ids=[...] or source=...; neither: every image not yet classified
    """
    from pixclass.jobs import submit_job

    with user_errors():
        params = _parse_pairs(pairs)
        job_id = submit_job(get_settings(ctx), kind, collection, params)
    click.echo(job_id)
    err_console.print(f"job {job_id} queued; `pixclass jobs show {job_id}` follows it")


def _parse_pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"a parameter is KEY=VALUE, got {pair!r}")
        try:
            params[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            params[key.strip()] = text
    return params


@jobs.command("cancel")
@click.argument("job_id", type=int)
@click.pass_context
def jobs_cancel(ctx: click.Context, job_id: int) -> None:
    """Cancel a job: a queued one at once, a running one at its next progress report."""
    from pixclass.jobs import cancel_job

    with opened_store(ctx) as store:
        job = cancel_job(store, job_id, settings=get_settings(ctx))
    if job.state == "cancelled":
        click.echo(f"job {job_id} cancelled")
    else:
        click.echo(f"job {job_id} asked to stop; it does at its next progress report")


@click.command("worker")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Jobs run at the same time.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log every queue event, not just jobs.")
@click.option(
    "--parent-pid",
    type=int,
    default=None,
    hidden=True,
    help="Stop when this process exits (pixclass serve passes its own pid).",
)
@click.pass_context
def worker(ctx: click.Context, workers: int, verbose: bool, parent_pid: int | None) -> None:
    """Run queued jobs until Ctrl-C (the first lets the running job finish, a second stops it).

    Use the same configuration (data dir, database_url, queue_url) as the app or the commands
    that submit the jobs.
    """
    from pixclass.jobs.worker import run_worker

    log_to_stderr(verbose)
    with user_errors():
        run_worker(get_settings(ctx), workers=workers, parent_pid=parent_pid)


def log_to_stderr(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not verbose:
        for name in ("huey", "alembic", "apprise", "numba", "faiss"):
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger("huey.consumer").setLevel(logging.INFO)  # start and shutdown lines
