"""The unsupervised pipeline: reduce -> choose k -> cluster -> predict new images."""

from __future__ import annotations

from pixclass.cluster import refine
from pixclass.cluster.discover import Discovery, discover
from pixclass.cluster.estimator import ImageClusterer
from pixclass.cluster.model import Model, load_model

__all__ = ["Discovery", "ImageClusterer", "Model", "discover", "load_model", "refine"]
