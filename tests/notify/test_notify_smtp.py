"""E-mail through a real SMTP server on loopback: delivery with a login, and Outlook's 535."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest
from notify_receivers import OUTLOOK_535, SmtpServer
from PIL import Image

from pixclass.config import Settings
from pixclass.notify import (
    Notifier,
    RunFinished,
    Secrets,
    SendResult,
    montage_png,
    parse_target,
    run_link,
)

PASSWORD = "p@ss%w;rd#1/x"


def mail_url(port: int) -> str:
    # mode=insecure: plain SMTP, no TLS (loopback only); smtp= and port= pick the server.
    return (
        f"mailto://pixclass:{{secret:mail}}@example.com?smtp=127.0.0.1&port={port}"
        "&mode=insecure&from=pixclass@example.com&to=ana@example.com"
    )


def test_run_finished_mail_arrives_with_montage(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXCLASS_SECRET_MAIL", PASSWORD)
    images = [np.full((28, 28), v, dtype=np.uint8) for v in range(0, 250, 25)]
    event = RunFinished(
        collection="digits",
        run_id=7,
        classes=[("zeros", 120), ("ones", 98), ("sevens", 41)],
        metrics={"ACC": 0.912, "NMI": 0.874},
        link=run_link("http://pix.local:8000/", 7),
        montage_png=montage_png(images, columns=5, cell=32),
    )
    secrets = Secrets.load(_settings_without_file(), environ={"PIXCLASS_SECRET_MAIL": PASSWORD})
    notifier = Notifier(
        [parse_target(mail_url(smtp_server.port))], secrets=secrets, allow_private=True
    )

    [result] = notifier.send(event)

    assert result.ok, result.error
    assert result.attempts == 1
    assert smtp_server.logins[-1] == ("pixclass", PASSWORD)  # quoted in the URL, intact here
    [mail] = smtp_server.messages
    assert mail["Subject"] == "pixclass: 3 classes found in digits"
    assert mail["To"].addresses[0].addr_spec == "ana@example.com"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert 'Run 7 on "digits" finished: 3 classes in 259 images.' in body
    assert "Sizes: zeros 120, ones 98, sevens 41" in body
    assert "ACC 0.912, NMI 0.874" in body
    assert "Open: http://pix.local:8000/runs/7" in body
    assert "(pixclass event: run-finished)" in body
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "pixclass-run-7-montage.png"
    assert attachment.get_content_type() == "image/png"
    png = Image.open(io.BytesIO(attachment.get_content()))
    assert png.format == "PNG"
    assert png.size == (5 * 32, 2 * 32)


def test_outlook_535_is_reported_not_retried_and_password_stays_hidden(
    outlook_like_smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PIXCLASS_SECRET_OUTLOOK", PASSWORD)
    caplog.set_level(logging.DEBUG)  # the noisiest setting: every Apprise debug line
    url = mail_url(outlook_like_smtp.port).replace("{secret:mail}", "{secret:outlook}")
    recorded: list[SendResult] = []
    notifier = Notifier(
        [parse_target(url)],
        secrets=Secrets.load(_settings_without_file()),
        retries=3,
        backoff=0.01,
        on_result=recorded.append,
        allow_private=True,
    )

    [result] = notifier.send(RunFinished("digits", 8, [("zeros", 3)]))

    assert not result.ok
    assert result.error == OUTLOOK_535
    assert result.attempts == 1  # a refused login is permanent: no retry
    assert len(outlook_like_smtp.sessions) == 1
    assert outlook_like_smtp.messages == []
    assert recorded == [result]
    # The server did get the real password, so it was in play; nothing we kept or logged has it.
    assert outlook_like_smtp.logins[0][1] == PASSWORD
    assert "Socket Exception" in caplog.text  # the DEBUG lines were there to leak from
    kept = caplog.text + json.dumps([r.to_dict() for r in recorded]) + result.target
    for form in (PASSWORD, "p%40ss%25w%3Brd%231%2Fx", "p%40ss%25w%3Brd%231/x"):
        assert form not in kept
    assert "pixclass:****@" in result.target


def _settings_without_file() -> Settings:
    return Settings(config_file=None)
