"""E-mail from jobs through a real SMTP server on loopback: the run-finished mail with its
montage after a real cluster job, and Outlook's 535 recorded without failing the job or leaking
the password anywhere."""

from __future__ import annotations

import io
import logging
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from jobs_samples import BASE_URL, write_digits
from loopback_receivers import OUTLOOK_535, SmtpServer
from PIL import Image

from pixclass.config import Settings
from pixclass.jobs import get_job, submit_job
from pixclass.jobs.messages import MONTAGE_CELL, MONTAGE_PER_CLASS
from pixclass.services.targets import add_collection_target
from pixclass.store import list_clusters, list_sends, open_store

PASSWORD = "p@ss%w;rd#1/x"


def mail_url(port: int, secret: str) -> str:
    # mode=insecure: plain SMTP, no TLS (loopback only); smtp= and port= pick the server.
    return (
        f"mailto://pixclass:{{secret:{secret}}}@example.com?smtp=127.0.0.1&port={port}"
        "&mode=insecure&from=pixclass@example.com&to=ana@example.com"
    )


def test_run_finished_mail_with_montage_after_a_cluster_job(
    settings: Settings, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXCLASS_SECRET_MAIL", PASSWORD)
    write_digits(settings.data_dir / "uploads" / "digits", 0, 150, labeled=True)
    ingest_job = submit_job(settings, "ingest", "digits", {"source": "uploads/digits"})
    with open_store(settings) as store:
        assert get_job(store, ingest_job).result["added"] == 150
        url = mail_url(smtp_server.port, "mail")
        add_collection_target(store, settings, "digits", url, ["run-finished"])

    job_id = submit_job(settings, "cluster", "digits", {"n_clusters": "auto", "seed": 0})

    with open_store(settings) as store:
        job = get_job(store, job_id)
        assert job.state == "done", job.error
        run_id = job.result["run_id"]
        clusters = [c for c in list_clusters(store, run_id) if c.size]
        sends = list_sends(store, "digits")
    k = len(clusters)
    [mail] = smtp_server.messages
    assert smtp_server.logins[-1] == ("pixclass", PASSWORD)
    assert mail["Subject"] == f"pixclass: {k} classes found in digits"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert f'Run {run_id} on "digits" finished: {k} classes in 150 images.' in body
    # Largest first, ties by name: the order notify.format.compact_sizes defines.
    largest = min(clusters, key=lambda c: (-c.size, c.display_name))
    assert f"Sizes: {largest.display_name} {largest.size}" in body
    assert "Against the labels: ACC 0." in body and "NMI" in body and "ARI" in body
    assert f"Open: {BASE_URL}/runs/{run_id}" in body
    assert body.rstrip().endswith("(pixclass event: run-finished)")
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"pixclass-run-{run_id}-montage.png"
    assert attachment.get_content_type() == "image/png"
    montage = Image.open(io.BytesIO(attachment.get_content()))
    # One row per class, a few of its most confident images per row.
    assert montage.size == (MONTAGE_PER_CLASS * MONTAGE_CELL, min(k, 20) * MONTAGE_CELL)
    [send] = sends
    assert (send.ok, send.event_type, send.run_id, send.job_id) == (
        True,
        "run-finished",
        run_id,
        job_id,
    )
    assert "pixclass:****@" in send.target


def test_outlook_535_is_recorded_and_the_password_is_nowhere(
    clustered: Settings,
    outlook_like_smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the noisiest setting: every Apprise debug line
    monkeypatch.setenv("PIXCLASS_SECRET_OUTLOOK", PASSWORD)
    write_digits(clustered.data_dir / "uploads" / "new", 1000, 20)
    with open_store(clustered) as store:
        url = mail_url(outlook_like_smtp.port, "outlook")
        add_collection_target(store, clustered, "digits", url, ["images-classified"])

    job_id = submit_job(clustered, "classify", "digits", {"source": "uploads/new"})

    with open_store(clustered) as store:
        job = get_job(store, job_id)
        [send] = list_sends(store, "digits")
        dump = _dump_every_table(store.engine)
    assert job.state == "done", job.error
    assert job.result["classified"] == 20
    assert job.result["notifications"] == {"sent": 0, "failed": 1}
    assert (send.ok, send.error, send.attempts) == (False, OUTLOOK_535, 1)
    assert send.job_id == job_id and send.event_type == "images-classified"
    # The server did get the real password, so it was in play; nothing kept or logged has it.
    assert outlook_like_smtp.logins[0][1] == PASSWORD
    assert "Socket Exception" in caplog.text  # the DEBUG lines were there to leak from
    assert "{secret:outlook}" in dump  # the stored target keeps its placeholder
    for form in (PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD)):
        assert form not in caplog.text
        assert form not in dump


def _dump_every_table(engine: sa.Engine) -> str:
    """Every row of every table, as text."""
    lines = []
    with engine.connect() as connection:
        for table in sa.inspect(engine).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                lines.append(f"{table}: {row!r}")
    return "\n".join(lines)
