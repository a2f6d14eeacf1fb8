"""Feature extractors and their registry.

Built-in extractors are registered here; other packages add theirs through the entry-point group
``pixclass.features`` (the entry point names a zero-argument-callable-compatible class or factory
taking keyword parameters), with no change to pixclass.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from pixclass.errors import InputError
from pixclass.features.base import FeatureExtractor, as_mode, as_size

ENTRY_POINT_GROUP = "pixclass.features"
# ``onnx:PATH``: any ONNX image model (``pixclass.features.onnx_model``).
ONNX_PREFIX = "onnx:"
# What a run on precomputed vectors (``discover(..., embeddings=X)``) names its features.
PRECOMPUTED = "embeddings"

Factory = Callable[..., FeatureExtractor]
_BUILTIN: dict[str, str] = {
    "pixels": "pixclass.features.pixels:PixelFeatures",
    "hog": "pixclass.features.hog:HogFeatures",
    "mobilenet_v2": "pixclass.features.mobilenet:MobileNetV2Features",
    "efficientnet_lite0": "pixclass.features.efficientnet:EfficientNetLiteFeatures",
    "efficientnet_lite1": "pixclass.features.efficientnet:EfficientNetLite1Features",
    "efficientnet_lite2": "pixclass.features.efficientnet:EfficientNetLite2Features",
}
_registered: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Register an extractor factory under ``name`` (for code that cannot use entry points)."""
    _registered[name] = factory


def _load_target(target: str) -> Factory:
    import importlib

    module, _, attr = target.partition(":")
    factory: Factory = getattr(importlib.import_module(module), attr)
    return factory


def _plugin_entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_extractors() -> list[str]:
    """Names that ``get_extractor`` accepts: built-ins, registered, and installed plug-ins."""
    return sorted({*_BUILTIN, *_registered, *_plugin_entry_points()})


def get_extractor(name: str, **params: Any) -> FeatureExtractor:
    """Build the extractor called ``name`` with keyword ``params``.

    Raises
    ------
    InputError
        If no extractor has that name; the message lists the names there are.

    ``onnx:PATH[?options]`` builds ``OnnxModelFeatures`` for the ONNX model at PATH (the input
    convention and its options: ``pixclass.features.onnx_model``).
    """
    if name.startswith(ONNX_PREFIX):
        from pixclass.features.onnx_model import OnnxModelFeatures, parse_onnx_spec

        # Parameters given (a saved model's) win over the spec's.
        return OnnxModelFeatures(**{**parse_onnx_spec(name), **params})
    if name == PRECOMPUTED:
        from pixclass.features.precomputed import PrecomputedVectors

        return PrecomputedVectors(**params)
    if name in _registered:
        factory = _registered[name]
    elif name in _BUILTIN:
        factory = _load_target(_BUILTIN[name])
    else:
        plugins = _plugin_entry_points()
        if name not in plugins:
            raise InputError(
                f"unknown feature extractor {name!r}; "
                f"available: {', '.join(available_extractors())}, or onnx:PATH for your own "
                "ONNX model"
            )
        factory = plugins[name].load()
    return factory(**params)


__all__ = [
    "ENTRY_POINT_GROUP",
    "ONNX_PREFIX",
    "FeatureExtractor",
    "as_mode",
    "as_size",
    "available_extractors",
    "get_extractor",
    "register",
]
