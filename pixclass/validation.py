"""Checks for values that arrive from outside (the web app's requests, the command line), made
the same way whatever database is behind: SQLite stores integers up to 2**63 - 1 and would raise
OverflowError past it, PostgreSQL's ``bigint`` says "out of range", and PostgreSQL refuses a NUL
character in any text. A value that cannot be stored is refused before it reaches either, with
a message that names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pixclass.errors import InputError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# C0 controls and DEL. Free text may hold tabs and line breaks; names may not.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME_KEYS = re.compile(r"(^|_)name$|^(name|collection|label|cluster|tag|tags|rename|to)$")


def int64_problem(value: int) -> str | None:
    """Why an integer cannot be stored, or None."""
    if INT64_MIN <= value <= INT64_MAX:
        return None
    return f"{value} is out of range (numbers and ids are at most {INT64_MAX})"


def text_problem(value: str, *, is_name: bool = False) -> str | None:
    """Why a string cannot be used: a NUL or other control character (tabs and line breaks are
    allowed in free text, not in names)."""
    found = (_CONTROL if is_name else _CONTROL_IN_TEXT).search(value)
    if found is None:
        return None
    return f"holds a control character ({found.group(0)!r}); remove it"


def check_name(value: str, what: str = "name") -> str:
    """``value`` if it is a usable name, else an ``InputError`` saying why."""
    problem = text_problem(value, is_name=True)
    if problem:
        raise InputError(f"the {what} {value!r} {problem}")
    return value


def is_name_key(key: str) -> bool:
    """Whether a field named ``key`` holds a name (so no control characters at all)."""
    return bool(_NAME_KEYS.search(key.lower()))


def value_problems(value: Any, where: str = "body") -> Iterator[str]:
    """Every problem in a parsed JSON value, each naming where it is (``body.name``)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return
    if isinstance(value, int):
        problem = int64_problem(value)
        if problem:
            yield f"{where}: {problem}"
    elif isinstance(value, str):
        problem = text_problem(value, is_name=is_name_key(where.rpartition(".")[2]))
        if problem:
            yield f"{where}: {problem}"
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from value_problems(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and text_problem(key, is_name=True):
                yield f"{where}: a key holds a control character"
            yield from value_problems(item, f"{where}.{key}")
