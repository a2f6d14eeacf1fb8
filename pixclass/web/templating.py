"""Jinja templates and the small filters they use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from pixclass.web.palette import class_color


def make_templates(folder: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(folder))
    templates.env.filters["pct"] = percent
    templates.env.filters["when"] = when
    templates.env.filters["plural"] = plural
    templates.env.globals["color"] = class_color
    return templates


def percent(value: float | None) -> str:
    """A confidence in [0, 1] as a whole percentage."""
    return "" if value is None else f"{round(100 * float(value))}%"


def when(value: datetime | None) -> str:
    """A timestamp in the server's local time, to the minute."""
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


def plural(count: int, word: str, many: str | None = None) -> str:
    """``3 images``, ``1 image``, with thousands separated."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
