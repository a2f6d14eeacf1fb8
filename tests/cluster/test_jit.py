"""umap's numba functions are compiled into numba's on-disk cache, so a new process (a CLI call,
a worker) does not spend its first tens of seconds compiling them again."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import numba
from pixclass.cluster.jit import load_umap
umap = load_umap()
import umap.layouts, umap.umap_
print(type(umap.umap_.compute_membership_strengths._cache).__name__)
print(type(umap.layouts._nb_optimize_layout_euclidean_single_epoch._cache).__name__)
print(numba.njit.__module__)
"""


def test_umap_is_compiled_into_the_disk_cache_and_numba_is_left_as_it_was() -> None:
    # A fresh interpreter: in this one umap may already be imported.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=300
    ).stdout.split()
    assert out == ["FunctionCache", "FunctionCache", "numba.core.decorators"], out
