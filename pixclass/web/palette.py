"""Class colours for the map and the legends: distinct, stable per class index."""

from __future__ import annotations

import colorsys

# Tableau's 10 plus 10 lighter/darker companions: easy to tell apart on a white canvas.
BASE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#393b79", "#dbdb8d", "#9edae5",
)  # fmt: skip
NO_CLASS = "#b0b0b0"
GOLDEN = 0.618033988749895


def class_color(index: int | None) -> str:
    """The colour of class ``index`` (grey for unknown, -1)."""
    if index is None or index < 0:
        return NO_CLASS
    if index < len(BASE):
        return BASE[index]
    hue = (index * GOLDEN) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
