"""One ``Settings`` object, read once at an entry point (CLI, app, worker) and passed down.

Precedence, lowest first: built-in defaults, the TOML config file, ``PIXCLASS_*`` environment
variables, then explicit overrides from the entry point (CLI options). Library code never reads
the environment itself; it takes a ``Settings``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from pixclass.errors import InputError

ENV_PREFIX = "PIXCLASS_"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("pixclass", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults that run fully offline on one machine.

    Attributes
    ----------
    data_dir : Path
        Where the SQLite database, the job queue, caches and uploads live.
    database_url : str
        SQLAlchemy URL. Empty means ``sqlite:///<data_dir>/pixclass.db``. For the server option use
        ``postgresql+psycopg://user@host/dbname``.
    queue_url : str
        Job queue: ``sqlite`` (default, a file in ``data_dir``), ``redis://host:port/db``, or
        ``immediate`` (run jobs inline; for tests and one-off scripts).
    blob_dir : str
        Empty: image bytes are kept in the database. A directory: image bytes are kept there as
        content-addressed files (for very large collections).
    notify_urls : tuple of str
        Apprise URLs notified of every event (collections may add their own).
    app_token : str
        Password for the web app. Empty: generated and printed on first start.
    base_url : str
        Public address of the web app, used for links in notifications.
    mobilenet_weights : str
        Explicit path to ``mobilenet_v2-b0353104.pth``; empty to search the usual places.
    mnist_dir : str
        Where to look for the MNIST IDX files first (the demo).
    upload_max_mb : int
        Largest upload the web app accepts, all files together, in MiB.
    upload_file_max_mb : int
        Largest single image file the web app accepts, in MiB (a ``.zip`` counts against
        ``upload_max_mb`` only).
    file_max_mb : int
        Largest image file read from a folder, a list of files or a ``.zip`` member (as unpacked),
        in MiB. Larger files are skipped with that reason.
    archive_max_mb : int
        Most bytes read out of one ``.zip``, all members unpacked together, in MiB: a small
        archive that unpacks to far more (a "zip bomb") stops there, with the rest skipped.
    notify_allow_private : bool
        Whether notifications may go to loopback and private-network addresses (10/8, 192.168/16,
        ...). Off by default, so a target URL cannot make the server probe its own network.
        Link-local and cloud-metadata addresses are refused always.
    notify_retry_seconds : int
        How long a notification that failed for a passing reason (the service down or slow) is
        tried again, from its first try, before it is marked failed for good. Retries are kept
        in the database, so they survive a restart; a worker (``pixclass worker``, or the one
        ``serve`` starts) makes them.
    notify_retry_backoff_seconds : int
        Wait before the first retry; each later wait is as long as the time since the first
        try (so the waits double), at most 30 minutes.
    """

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""
    queue_url: str = "sqlite"
    blob_dir: str = ""
    notify_urls: tuple[str, ...] = ()
    app_token: str = ""
    base_url: str = "http://127.0.0.1:8000"
    mobilenet_weights: str = ""
    mnist_dir: str = ""
    upload_max_mb: int = 2048
    upload_file_max_mb: int = 50
    file_max_mb: int = 64
    archive_max_mb: int = 4096
    notify_allow_private: bool = False
    notify_retry_seconds: int = 6 * 3600
    notify_retry_backoff_seconds: int = 30
    config_file: Path | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'pixclass.db'}"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)


_INT_SETTINGS = frozenset(
    {
        "upload_max_mb",
        "upload_file_max_mb",
        "file_max_mb",
        "archive_max_mb",
        "notify_retry_seconds",
        "notify_retry_backoff_seconds",
    }
)
_BOOL_SETTINGS = frozenset({"notify_allow_private"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _coerce(name: str, value: Any) -> Any:
    if name in _INT_SETTINGS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number <= 0:
            raise InputError(f"setting {name} must be a positive whole number, got {value!r}")
        return number
    if name in _BOOL_SETTINGS:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in _TRUE | _FALSE:
            raise InputError(f"setting {name} must be true or false, got {value!r}")
        return text in _TRUE
    if name in ("data_dir", "config_file"):
        return Path(str(value)).expanduser() if value not in (None, "") else None
    if name == "notify_urls":
        if isinstance(value, str):
            return tuple(u.strip() for u in value.split(",") if u.strip())
        return tuple(str(u) for u in value)
    return str(value)


def load_settings(
    config_file: str | Path | None = None,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings from defaults, config file, environment and overrides.

    The config file is ``config_file``, else ``$PIXCLASS_CONFIG``, else
    ``<data_dir>/config.toml`` if it exists. Unknown keys are an error, so typos do not pass
    silently.
    """
    env = os.environ if environ is None else environ
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    for name in names:
        key = ENV_PREFIX + name.upper()
        if key in env and env[key] != "":
            values[name] = _coerce(name, env[key])
    for name, value in overrides.items():
        if value is not None:
            if name not in names:
                raise InputError(f"unknown setting {name!r}")
            values[name] = _coerce(name, value)

    base = Settings(**{k: v for k, v in values.items() if k == "data_dir"})
    path = config_file or env.get(ENV_PREFIX + "CONFIG") or (base.data_dir / "config.toml")
    path = Path(path).expanduser()
    file_values: dict[str, Any] = {}
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"cannot read config file {path}: {exc}. Fix or remove it.") from exc
        section = raw.get("pixclass", raw)
        for key, value in section.items():
            if isinstance(value, dict):
                continue  # nested tables ([notify], [secrets]) belong to the modules that read them
            if key not in names:
                raise InputError(
                    f"unknown setting {key!r} in {path}; known settings: {', '.join(sorted(names))}"
                )
            file_values[key] = _coerce(key, value)
        file_values["config_file"] = path
    elif config_file:
        raise InputError(f"config file {path} does not exist")

    merged = {**file_values, **values}
    return replace(Settings(), **merged)
