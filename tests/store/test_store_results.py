"""Clusters named by people, corrections that win across runs, run bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_runs import stored_run
from store_samples import write_mnist_pngs

from pixclass.errors import InputError, NotFoundError
from pixclass.services.ingest import ingest
from pixclass.store import (
    Store,
    assign_image,
    effective_classes,
    get_run,
    list_clusters,
    list_images,
    list_runs,
    load_model_bytes,
    rename_cluster,
)

pytestmark = pytest.mark.usefixtures("mnist_available")


@pytest.fixture
def six(store: Store, tmp_path: Path) -> Store:
    """A collection "six" of six digits."""
    write_mnist_pngs(tmp_path / "six", 6)
    ingest(store, tmp_path / "six", "six")
    return store


def test_result_is_stored(six: Store) -> None:
    run_id = stored_run(six, "six", [0, 0, 1, 1, 2, 2])
    run = get_run(six, run_id)
    assert (run.status, run.n_clusters, run.n_images, run.collection) == ("done", 3, 6, "six")
    assert run.finished_at is not None and run.pid is not None
    clusters = list_clusters(six, run_id)
    assert [(c.index, c.size, c.display_name) for c in clusters] == [
        (0, 2, "cluster-0"),
        (1, 2, "cluster-1"),
        (2, 2, "cluster-2"),
    ]
    ids = [i.id for i in list_images(six, "six")]
    assert clusters[1].representative_image_id == ids[2]
    classes = effective_classes(six, run_id)
    assert [c.cluster for c in classes] == [0, 0, 1, 1, 2, 2]
    assert classes[3].x == 6.0 and classes[3].y == 7.0
    assert load_model_bytes(six, run_id) == b"model-bytes"
    assert [r.id for r in list_runs(six, "six")] == [run_id]


def test_rename_by_index_or_name(six: Store) -> None:
    run_id = stored_run(six, "six", [0, 0, 1, 1, 2, 2])
    assert rename_cluster(six, run_id, "1", "sevens").display_name == "sevens"
    assert rename_cluster(six, run_id, "sevens", "7s").index == 1
    assert rename_cluster(six, run_id, "cluster-2", "twos").name == "twos"
    assert rename_cluster(six, run_id, 2, "").display_name == "cluster-2"
    with pytest.raises(NotFoundError, match="cluster-0, 7s, cluster-2"):
        rename_cluster(six, run_id, "nine", "x")


def test_person_correction_wins_in_later_runs(six: Store) -> None:
    ids = [i.id for i in list_images(six, "six")]
    first = stored_run(six, "six", [0, 0, 1, 1, 2, 2])
    rename_cluster(six, first, 1, "sevens")
    used, cluster = assign_image(six, ids[0], "sevens")
    assert (used, cluster.index) == (first, 1)
    second = stored_run(six, "six", [1, 1, 0, 0, 0, 1])
    later = {c.image_id: c for c in effective_classes(six, second)}
    assert later[ids[0]].class_name == "sevens" and later[ids[0]].set_by_person
    assert later[ids[0]].cluster == 1  # where the new run put it, kept for reference
    assert later[ids[1]].class_name == "cluster-1" and not later[ids[1]].set_by_person
    # A later correction wins over an earlier one; renaming the chosen cluster follows along.
    assign_image(six, ids[0], 0, run_id=second)
    rename_cluster(six, second, 0, "zeros")
    assert {c.image_id: c for c in effective_classes(six, first)}[ids[0]].class_name == "zeros"


def test_assign_errors(six: Store, store: Store, tmp_path: Path) -> None:
    ids = [i.id for i in list_images(six, "six")]
    with pytest.raises(NotFoundError, match="no finished run"):
        assign_image(six, ids[0], 0)
    run_id = stored_run(six, "six", [0, 0, 1, 1, 2, 2])
    with pytest.raises(NotFoundError, match="no image"):
        assign_image(six, 999_999, 0)
    write_mnist_pngs(tmp_path / "other", 2)
    ingest(store, tmp_path / "other", "other")
    other = [i.id for i in list_images(store, "other")]
    with pytest.raises(InputError, match="not in the collection"):
        assign_image(store, other[0], 0, run_id=run_id)


def test_unknown_run(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no run with id 42"):
        get_run(store, 42)
    with pytest.raises(NotFoundError):
        load_model_bytes(store, 42)
