"""pixclass: discover the classes in a pile of unlabeled images."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# torch's OpenMP threads spin while they wait. When another process shares the two cores (the
# web app beside a worker, a test beside a server) spinning threads slow a training step twenty
# times over; passive waiting costs little when the cores are free. Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pixclass.errors import PixclassError

__all__ = ["PixclassError", "__version__"]
