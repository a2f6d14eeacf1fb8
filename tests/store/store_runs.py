"""Store a run result directly (for tests of what is done with results, not of clustering)."""

from __future__ import annotations

import numpy as np

from pixclass.store import Store, list_images
from pixclass.store.results import RunResult, save_result
from pixclass.store.runs import create_run, start_run


def stored_run(store: Store, collection: str, labels: list[int]) -> int:
    """A finished run of ``collection`` that put image i (in id order) in ``labels[i]``."""
    ids = [image.id for image in list_images(store, collection)]
    assert len(ids) == len(labels)
    array = np.array(labels)
    run_id = create_run(store, collection, features="pixels", params={"n_clusters": "auto"})
    start_run(store, run_id)
    n_clusters = int(array.max()) + 1
    representatives = {c: list(np.flatnonzero(array == c)[:3]) for c in range(n_clusters)}
    result = RunResult(
        image_ids=ids,
        labels=array,
        confidence=np.linspace(0.5, 1.0, len(ids)),
        embedding_2d=np.arange(2 * len(ids), dtype=np.float32).reshape(-1, 2),
        representatives=representatives,
        n_clusters=n_clusters,
        params={"n_clusters": n_clusters},
        timings={"total": 0.1},
        metrics={"n_images": len(ids)},
        model=b"model-bytes",
    )
    save_result(store, run_id, result)
    return run_id
