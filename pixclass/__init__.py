"""pixclass: discover the classes in a pile of unlabeled images."""

from __future__ import annotations

__version__ = "0.1.0"

from pixclass.errors import PixclassError

__all__ = ["PixclassError", "__version__"]
