"""The ``pixclass`` command line: parse options, call the library, print. Nothing else.

Each group of commands lives in its own module and is attached here.
"""

from __future__ import annotations

import importlib

import click

from pixclass import __version__
from pixclass.config import load_settings
from pixclass.errors import PixclassError

# (module, attribute) of every command attached to the top-level group. Modules are imported only
# when the CLI starts, so heavy libraries load only for the command that needs them.
COMMANDS: list[tuple[str, str]] = [
    ("pixclass.cli.cluster", "cluster"),
    ("pixclass.cli.cluster", "predict"),
    ("pixclass.cli.cluster", "evaluate"),
    ("pixclass.cli.cluster", "demo"),
    ("pixclass.cli.datasets", "datasets"),
    ("pixclass.cli.notify", "notify"),
    ("pixclass.cli.store", "ingest"),
    ("pixclass.cli.store", "collections"),
    ("pixclass.cli.store", "export"),
    ("pixclass.cli.store", "db"),
    ("pixclass.cli.runs", "runs"),
    ("pixclass.cli.runs", "classes"),
    ("pixclass.cli.runs", "clusters"),
    ("pixclass.cli.runs", "assign"),
    ("pixclass.cli.runs", "similar"),
    ("pixclass.cli.runs", "recut"),
    ("pixclass.cli.learning", "undo"),
    ("pixclass.cli.learning", "corrections"),
    ("pixclass.cli.learning", "learn"),
    ("pixclass.cli.jobs", "jobs"),
    ("pixclass.cli.jobs", "worker"),
    ("pixclass.cli.serve", "serve"),
    ("pixclass.cli.watch", "watch"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pixclass")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML config file (default: $PIXCLASS_CONFIG or <data dir>/config.toml).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where pixclass keeps its database and caches (default: $PIXCLASS_DATA_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, data_dir: str | None) -> None:
    """pixclass: discover the classes in a pile of unlabeled images."""
    try:
        settings = load_settings(config_file=config_file, data_dir=data_dir)
    except PixclassError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.obj = {"settings": settings}


def _attach_commands() -> None:
    for module_name, attr in COMMANDS:
        module = importlib.import_module(module_name)
        cli.add_command(getattr(module, attr))


_attach_commands()


def main() -> None:
    cli()


__all__ = ["cli", "main"]
