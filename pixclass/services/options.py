"""The clustering options, defined once: their defaults, accepted values and the one validator
that the CLI, the API schema, the web form and the job kinds all use.

A bad value is an error that names the accepted values; nothing is silently replaced by a
default ("ten" classes is refused, never read as "auto"). Importing this module is cheap: the
extractor names are looked up only when ``features`` is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pixclass.errors import InputError

# As in pixclass.cluster.assign.METHODS (importing it here would load numba and umap on every
# submit; a test keeps the two equal).
METHODS = ("gmm", "kmeans", "hdbscan", "agglomerative")
# Name -> default. ``seed`` 0 makes stored runs repeatable; the CLI's one-off runs pass None.
DEFAULTS: dict[str, Any] = {
    "n_clusters": "auto",
    "features": "auto",
    "seed": 0,
    "method": "gmm",
    "refine": "auto",
    "deskew": "auto",
}
Switch = bool | Literal["auto"]
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def check_n_clusters(value: Any) -> int | str:
    """``"auto"`` or a whole number of classes of at least 1."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    number = whole_number(value, "n_clusters", "'auto' or a whole number")
    if number < 1:
        raise InputError(f"n_clusters must be 'auto' or at least 1, got {value!r}")
    return number


def check_features(value: Any) -> str:
    """``"auto"``, the name of an installed feature extractor, or ``onnx:PATH[?options]`` for an
    ONNX model file that exists (its path made absolute, so a job elsewhere finds it)."""
    from pixclass.features import ONNX_PREFIX, available_extractors

    features = str(value).strip()
    if features.startswith(ONNX_PREFIX):
        from pixclass.features.onnx_model import canonical_spec

        return canonical_spec(features)
    if features != "auto" and features not in available_extractors():
        raise InputError(
            f"unknown feature extractor {features!r}; use 'auto', one of "
            f"{', '.join(available_extractors())}, or onnx:PATH for an ONNX model file"
        )
    return features


def check_method(value: Any) -> str:
    method = str(value).strip()
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    return method


def check_seed(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    return whole_number(value, "seed", "a whole number or none")


def check_switch(name: str, value: Any) -> Switch:
    """``True``, ``False`` or ``"auto"`` (also from the words a form or a CLI sends)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InputError(f"{name} must be 'auto', true or false, got {value!r}")


def check_cluster_options(given: Mapping[str, Any]) -> dict[str, Any]:
    """Every clustering option checked, with the defaults filled in (JSON-able).

    Raises
    ------
    InputError
        An unknown option, or a value that cannot be used; the message names what is accepted.
    """
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise InputError(
            f"unknown clustering option(s) {', '.join(sorted(unknown))}; use {', '.join(DEFAULTS)}"
        )
    values = {**DEFAULTS, **given}
    return {
        "n_clusters": check_n_clusters(values["n_clusters"]),
        "features": check_features(values["features"]),
        "seed": check_seed(values["seed"]),
        "method": check_method(values["method"]),
        "refine": check_switch("refine", values["refine"]),
        "deskew": check_switch("deskew", values["deskew"]),
    }


def whole_number(value: Any, name: str, what: str) -> int:
    """``value`` as an int, refusing booleans, fractions and words."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be {what}, got {value!r}")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {what}, got {value!r}") from None
    if isinstance(value, float) and value != number:
        raise InputError(f"{name} must be {what}, got {value!r}")
    return number
