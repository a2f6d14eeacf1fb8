"""``pixclass serve``: the web app on uvicorn, with a job worker beside it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import click

from pixclass.cli.common import get_settings, user_errors
from pixclass.config import Settings

# Seconds a stopping worker may take to finish its job before it is killed.
WORKER_STOP_SECONDS = 10


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Also start a job worker (a child process). Use --no-worker when `pixclass worker` "
    "runs elsewhere.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, worker: bool) -> None:
    """Start the web app: review, name and fix the classes, upload and classify images.

    The app asks for the token in app_token (PIXCLASS_APP_TOKEN); without one, a token is made
    on the first start, kept in the data dir (app-token, readable by you only) and printed.
    """
    import uvicorn

    from pixclass.web import create_app

    settings = get_settings(ctx)
    with user_errors():
        app = create_app(settings, warm_models=True)
    token = app.state.context.token
    if token.created:
        click.echo(f"Generated the app token (kept in {token.path}, readable by you only):")
        click.echo(f"    {token.value}")
    elif token.path is not None:
        click.echo(f"The app token is in {token.path}.")
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    click.echo(f"pixclass is serving on http://{shown}:{port}/  (Ctrl-C stops it)")
    with _worker_process(settings, enabled=worker):
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@contextlib.contextmanager
def _worker_process(settings: Settings, *, enabled: bool) -> Iterator[None]:
    """A ``pixclass worker`` child with the same settings, stopped when the block ends.

    A process rather than a thread: clustering keeps its cores busy for minutes, and the web
    app must stay responsive meanwhile.
    """
    if not enabled or (settings.queue_url or "").strip() == "immediate":
        yield
        return
    command = [sys.executable, "-m", "pixclass", "--data-dir", str(settings.data_dir)]
    if settings.config_file is not None:
        command += ["--config", str(settings.config_file)]
    # With its parent's pid the worker stops by itself if this server is killed (SIGKILL skips
    # the ``finally`` below).
    child = subprocess.Popen([*command, "worker", "--parent-pid", str(os.getpid())])
    click.echo(f"Started a job worker (pid {child.pid}).")
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
