"""``jsonable``: a value made fit for the JSON columns and files (numpy scalars and arrays to
Python, tuples to lists, dict keys to strings)."""

from __future__ import annotations

from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars, arrays and tuples made JSON-able; anything else that JSON
    cannot hold becomes its ``repr``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
