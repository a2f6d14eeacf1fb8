"""umap-learn (and pynndescent) imported with numba's on-disk cache turned on.

Most of umap's numba functions are compiled without ``cache=True``, so every new process pays
10-30 s of compiling before its first layout: each ``pixclass cluster``, each worker, each test.
Importing umap while ``numba.njit``/``numba.jit`` default to ``cache=True`` makes that a cost paid
once per installation (numba keeps the cache beside the package, or in the user's cache folder
when the package folder is read-only; NUMBA_CACHE_DIR moves it).
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

_lock = threading.Lock()


def _cached(decorator: Callable[..., Any]) -> Callable[..., Any]:
    def with_cache(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cache", True)
        return decorator(*args, **kwargs)

    return with_cache


def load_umap() -> ModuleType:
    """``import umap``, compiling its numba functions into the on-disk cache the first time."""
    if "umap" in sys.modules:
        return sys.modules["umap"]
    with _lock:
        if "umap" in sys.modules:
            return sys.modules["umap"]
        import numba

        njit, jit = numba.njit, numba.jit
        numba.njit, numba.jit = _cached(njit), _cached(jit)
        try:
            with warnings.catch_warnings():
                # A function numba cannot cache (it refers to dynamic globals) is compiled as
                # before; its warning says nothing a user can act on.
                warnings.simplefilter("ignore", numba.NumbaWarning)
                import umap
        finally:
            numba.njit, numba.jit = njit, jit
        return umap
