"""``pixclass notify test`` and ``pixclass notify targets`` through click's runner."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import click
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from pixclass.config import load_settings


def import_notify_group() -> click.Group:
    """``pixclass.cli`` attaches every command module when imported. While some of those modules
    are still being written, stand in for the missing ones so this group can be tested alone."""
    for _ in range(10):
        try:
            module = importlib.import_module("pixclass.cli.notify")
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("pixclass.cli."):
                raise
            stand_in = types.ModuleType(exc.name or "")
            stand_in.__getattr__ = lambda name: click.Command(name)  # type: ignore[method-assign]
            sys.modules[exc.name or ""] = stand_in
        else:
            group: click.Group = module.notify
            return group
    raise RuntimeError("could not import pixclass.cli.notify")


notify = import_notify_group()


def run(args: list[str], tmp_path: Path, config: str = "") -> tuple[int, str]:
    config_file = tmp_path / "config.toml"
    config_file.write_text("[pixclass]\n" + config)
    settings = load_settings(
        config_file=config_file, environ={}, data_dir=str(tmp_path), notify_allow_private=True
    )
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        notify, args, obj={"settings": settings}, catch_exceptions=False
    )
    return result.exit_code, result.output


def test_notify_test_prints_one_row_per_target(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    httpserver.expect_request("/broken").respond_with_data("nope", status=404)
    ok_url = f"json://127.0.0.1:{httpserver.port}/hook"

    code, output = run(["test", ok_url], tmp_path)
    assert code == 0, output
    assert f"json://127.0.0.1:{httpserver.port}/hook" in output
    assert " ok " in output

    code, output = run(["test", ok_url, ok_url.replace("hook", "broken")], tmp_path)
    assert code == 1
    assert "failed" in output and "error=404" in output


def test_notify_test_uses_configured_targets_and_secrets(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    config = (
        "[notify]\n"
        f'urls = [{{ url = "json://127.0.0.1:{httpserver.port}/hook?:token={{secret:hook}}", '
        'tags = ["run-failed"] }]\n'
        '[secrets]\nhook = "tok@n;#"\n'
    )
    code, output = run(["targets"], tmp_path, config)
    assert code == 0 and "run-failed" in output and "{secret:hook}" in output

    code, output = run(["test"], tmp_path, config)  # a test reaches tagged targets too
    assert code == 0, output
    [(request, _)] = httpserver.log
    assert request.get_json()["token"] == "tok@n;#"
    assert "tok@n" not in output


def test_a_bad_url_is_one_clear_line(tmp_path: Path) -> None:
    code, output = run(["test", "nonsense://x"], tmp_path)
    assert code == 1
    assert "not a notification URL Apprise understands: nonsense://x" in output
