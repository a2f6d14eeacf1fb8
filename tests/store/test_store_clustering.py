"""Clustering a stored collection with the real pipeline, and runs that fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from store_samples import mnist_arrays, write_mnist_pngs

from pixclass.cluster import Model
from pixclass.errors import NoImagesError
from pixclass.services.cluster import load_collection, run_collection_clustering
from pixclass.services.ingest import ingest
from pixclass.store import (
    Store,
    effective_classes,
    get_run,
    list_clusters,
    list_images,
    list_runs,
    load_model_bytes,
)

pytestmark = [pytest.mark.usefixtures("mnist_available"), pytest.mark.slow]


def test_run_is_stored_with_everything(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 300, labels_csv=True)
    ingest(store, tmp_path / "digits", "digits")
    run_id = run_collection_clustering(store, "digits", n_clusters=10, seed=0)
    run = get_run(store, run_id)
    assert (run.status, run.n_clusters, run.n_images, run.error) == ("done", 10, 300, None)
    assert run.params["features"] == "pixels" and "decode" in run.timings
    assert run.metrics["against_known_labels"]["nmi"] > 0.3  # real digits, real clusters
    clusters = list_clusters(store, run_id)
    assert sum(c.size for c in clusters) == 300
    assert all(c.representative_image_id is not None for c in clusters)
    classes = effective_classes(store, run_id)
    assert len(classes) == 300 and all(c.x is not None and c.y is not None for c in classes)
    assert all(0.0 <= c.confidence <= 1.0 for c in classes)
    # The stored model classifies the images the way the run did.
    model = Model.from_bytes(load_model_bytes(store, run_id))
    images, _ = mnist_arrays(300)
    labels, _ = model.predict(images[:50])
    assert np.mean(labels == np.array([c.cluster for c in classes[:50]])) > 0.9


def test_decoding_matches_the_files(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 20)
    ingest(store, tmp_path / "digits", "digits")
    loaded = load_collection(store, "digits")
    images, _ = mnist_arrays(20)
    assert np.array_equal(loaded.imageset.images, images)
    assert loaded.image_ids == [i.id for i in list_images(store, "digits")]
    assert loaded.imageset.labels is None


def test_failure_is_recorded(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "one", 1)
    ingest(store, tmp_path / "one", "one")
    with pytest.raises(NoImagesError, match="at least 2"):
        run_collection_clustering(store, "one")
    [run] = list_runs(store, "one")
    assert run.status == "failed" and "NoImagesError" in (run.error or "")
    write_mnist_pngs(tmp_path / "few", 30)
    ingest(store, tmp_path / "few", "few")
    with pytest.raises(Exception, match="no-such-extractor"):
        run_collection_clustering(store, "few", features="no-such-extractor")
    [run] = list_runs(store, "few")
    assert run.status == "failed" and "no-such-extractor" in (run.error or "")
