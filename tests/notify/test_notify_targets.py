"""Targets: validation, tags, config file and collection lists, secrets kept out of sight."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pixclass.config import load_settings
from pixclass.errors import InputError
from pixclass.notify import (
    Secrets,
    configured_targets,
    normalise_targets,
    parse_target,
    targets_from_dicts,
)
from pixclass.notify.secretstore import redact

PASSWORD = "hunter2@%;#/"


def test_a_bad_url_names_the_problem_and_the_wiki() -> None:
    with pytest.raises(InputError) as raised:
        parse_target("mailtos://user:topsecretpassword@")
    message = str(raised.value)
    assert message.startswith("not a notification URL Apprise understands: mailtos://user:****@")
    assert "https://github.com/caronc/apprise/wiki" in message
    assert "topsecretpassword" not in message
    with pytest.raises(InputError, match="Apprise understands: nonsense://x"):
        parse_target("nonsense://x")


def test_unknown_tags_are_refused_with_the_known_ones() -> None:
    with pytest.raises(InputError, match="run-finished, run-failed"):
        parse_target("json://127.0.0.1/hook", tags=["run-finsihed"])
    target = parse_target("json://127.0.0.1/hook", tags="run-failed, review-needed")
    assert target.tags == {"run-failed", "review-needed"}
    assert target.wants("run-failed") and target.wants("test") and not target.wants("run-finished")


def test_display_is_the_privacy_form_with_placeholders_kept() -> None:
    target = parse_target("mailtos://ana:{secret:gmail}@gmail.com?to=bo@example.com")
    assert target.display.startswith("mailtos://ana:****@gmail.com/bo%40example.com")
    header = parse_target("json://127.0.0.1/hook?+X-Token=${hook_token}")
    assert header.display.endswith("X-Token=${hook_token}")
    assert "url" not in repr(target)  # a configured URL may hold an inline password


def test_secrets_resolve_quoted_from_env_over_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[pixclass]\n[secrets]\ngmail = "from-file"\nslack = "xoxb-from-file"\n')
    settings = load_settings(config_file=config, environ={})
    secrets = Secrets.load(settings, environ={"PIXCLASS_SECRET_GMAIL": PASSWORD})

    assert secrets.get("gmail") == PASSWORD
    assert secrets.get("SLACK") == "xoxb-from-file"
    resolved = secrets.resolve("mailtos://ana:{secret:gmail}@gmail.com")
    assert resolved == "mailtos://ana:hunter2%40%25%3B%23%2F@gmail.com"
    assert PASSWORD not in repr(secrets) and "from-file" not in repr(secrets)
    assert redact(f"user {PASSWORD} or {resolved}") == "user **** or mailtos://ana:****@gmail.com"
    with pytest.raises(InputError, match="PIXCLASS_SECRET_OUTLOOK"):
        secrets.resolve("o365://x/{secret:outlook}")


def test_config_file_notify_table_with_tags(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[pixclass]\n"
        'notify_urls = ["json://127.0.0.1/all"]\n'
        "[notify]\n"
        "urls = [\n"
        '  "ntfy://ntfy.example.com/pixclass",\n'
        '  { url = "mailtos://ana:{secret:gmail}@gmail.com", tags = ["run-finished"] },\n'
        "]\n"
    )
    settings = load_settings(config_file=config, environ={})
    targets = configured_targets(settings)
    assert [sorted(t.tags) for t in targets] == [[], [], ["run-finished"]]
    assert targets[2].url == "mailtos://ana:{secret:gmail}@gmail.com"

    config.write_text('[pixclass]\n[notify]\nurl = ["json://127.0.0.1/x"]\n')
    with pytest.raises(InputError, match="unknown key"):
        configured_targets(load_settings(config_file=config, environ={}))


def test_collection_targets_must_keep_secrets_as_placeholders() -> None:
    stored = normalise_targets(
        [
            "ntfy://ntfy.sh/pixclass-birds",
            {"url": "mailtos://ana:{secret:gmail}@gmail.com", "tags": ["run-failed"]},
            {"url": "forms://notify.run/AbCdEf123"},
        ]
    )
    assert stored == [
        {"url": "ntfy://ntfy.sh/pixclass-birds", "tags": []},
        {"url": "mailtos://ana:{secret:gmail}@gmail.com", "tags": ["run-failed"]},
        {"url": "forms://notify.run/AbCdEf123", "tags": [], "attach": False},
    ]
    assert [t.url for t in targets_from_dicts(stored)] == [s["url"] for s in stored]
    for inline in (
        "mailtos://ana:apppassword@gmail.com",
        "discord://1234567890/abcdefghijklmnopqrstuvwxyzABCDEFG",
    ):
        with pytest.raises(InputError, match="placeholder") as raised:
            normalise_targets([inline])
        assert "apppassword" not in str(raised.value)
        assert "abcdefghijklmnopqrstuvwxyz" not in str(raised.value)
    with pytest.raises(InputError, match="unknown key"):
        normalise_targets([{"url": "ntfy://ntfy.sh/x", "tag": ["run-failed"]}])
    with pytest.raises(InputError, match="must be a list"):
        normalise_targets("ntfy://ntfy.sh/x")


def test_a_token_placeholder_is_checked_with_the_real_secret() -> None:
    # Telegram checks the token's shape, which a placeholder cannot pass on its own.
    url = "tgram://{secret:telegram}/987654321"
    secrets = Secrets({"telegram": "123456789:ABCdefGHIjklMNOpqrSTUvwxYZ"})
    [stored] = normalise_targets([url], secrets=secrets)
    assert stored["url"] == url
    assert "{secret:telegram}" in parse_target(url, secrets=secrets).display


def test_resolving_registers_the_secret_for_log_redaction(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pixclass.notify.secretstore import install_log_redaction

    install_log_redaction()
    Secrets({"x": "s3cr3t-value"}).resolve("json://{secret:x}@127.0.0.1/")
    with caplog.at_level(logging.DEBUG, logger="apprise"):
        logging.getLogger("apprise").debug("Authorization: Bearer %s", "s3cr3t-value")
    assert "s3cr3t-value" not in caplog.text
    assert "Bearer ****" in caplog.text


def test_a_refused_url_names_the_placeholder_not_the_value() -> None:
    secrets = Secrets({"tg": "not-a-telegram-token"})
    with pytest.raises(InputError) as raised:
        parse_target("tgram://{secret:tg}/123", secrets=secrets)
    assert "tgram://{secret:tg}/123" in str(raised.value)
    assert "not-a-telegram-token" not in str(raised.value)
