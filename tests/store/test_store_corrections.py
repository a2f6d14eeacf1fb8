"""A person's corrections in bulk (move, confirm, merge, split) and the queries the web app
browses with: on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from store_runs import stored_run
from store_samples import write_mnist_pngs

from pixclass.errors import InputError, NotFoundError
from pixclass.services import maps as maps_service
from pixclass.services.ingest import ingest
from pixclass.services.maps import map_points as shown_map
from pixclass.store import Store, effective_classes, list_clusters, list_images
from pixclass.store.browse import (
    class_cards,
    class_images,
    count_unreviewed,
    review_queue,
)
from pixclass.store.corrections import confirm_images, merge_clusters, move_images, split_cluster
from pixclass.store.maps import MapPositions, join_classes, map_points

pytestmark = pytest.mark.usefixtures("mnist_available")


@pytest.fixture
def eight(store: Store, tmp_path: Path) -> tuple[Store, int, list[int]]:
    """A collection of eight digits and a run that put them in classes 0,0,0,1,1,2,2,2."""
    write_mnist_pngs(tmp_path / "eight", 8)
    ingest(store, tmp_path / "eight", "eight")
    run_id = stored_run(store, "eight", [0, 0, 0, 1, 1, 2, 2, 2])
    return store, run_id, [image.id for image in list_images(store, "eight")]


def sizes(store: Store, run_id: int) -> dict[int, int]:
    return {c.index: c.size for c in list_clusters(store, run_id)}


def test_move_is_a_persons_decision_and_keeps_sizes(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, ids = eight
    target, moved = move_images(store, run_id, [ids[0], ids[3]], "2")
    assert (target.index, moved) == (2, 2)
    assert sizes(store, run_id) == {0: 2, 1: 1, 2: 5}
    classes = {c.image_id: c for c in effective_classes(store, run_id)}
    assert classes[ids[0]].class_name == "cluster-2" and classes[ids[0]].set_by_person
    assert not classes[ids[1]].set_by_person
    # Moving into the class an image is already in changes nothing but the flag.
    move_images(store, run_id, [ids[5]], 2)
    assert sizes(store, run_id) == {0: 2, 1: 1, 2: 5}


def test_move_refuses_images_of_another_collection(
    eight: tuple[Store, int, list[int]], tmp_path: Path
) -> None:
    store, run_id, _ = eight
    write_mnist_pngs(tmp_path / "other", 2)
    ingest(store, tmp_path / "other", "other")
    stranger = list_images(store, "other")[0].id
    with pytest.raises(NotFoundError, match="not in the collection"):
        move_images(store, run_id, [stranger], 0)
    with pytest.raises(InputError, match="at least one image"):
        move_images(store, run_id, [], 0)


def test_merge_empties_the_merged_classes(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, ids = eight
    merged = merge_clusters(store, run_id, [1, 2], into=0)
    assert merged.size == 8
    assert sizes(store, run_id) == {0: 8, 1: 0, 2: 0}
    assert all(c.class_name == "cluster-0" for c in effective_classes(store, run_id))
    cards = class_cards(store, run_id)
    assert [(c.index, c.size) for c in cards] == [(0, 8), (1, 0), (2, 0)]
    with pytest.raises(InputError):
        merge_clusters(store, run_id, [0], into=0)


def test_split_makes_new_classes(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, ids = eight
    parts = split_cluster(store, run_id, 2, [[ids[5]], [ids[7], ids[6]]])
    assert [(p.index, p.size) for p in parts] == [(2, 1), (3, 2)]
    assert list_clusters(store, run_id)[3].representative_image_id == ids[7]
    assert {i.image_id for i in class_images(store, run_id, 3)} == {ids[6], ids[7]}
    with pytest.raises(InputError, match="once"):
        split_cluster(store, run_id, 0, [[ids[0]], [ids[1]]])  # ids[2] is missing


def test_review_queue_and_confirm(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, ids = eight
    queue = review_queue(store, run_id, limit=3)
    confidences = [item.confidence for item in queue]
    assert confidences == sorted(confidences) and queue[0].image_id == ids[0]
    assert confirm_images(store, run_id, [ids[0], ids[1]]) == 2
    assert count_unreviewed(store, run_id) == 6
    assert ids[0] not in {item.image_id for item in review_queue(store, run_id)}


def test_map_points_are_parallel_arrays(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, ids = eight
    points = map_points(store, run_id)
    assert list(points.image_ids) == ids
    assert list(points.cluster) == [0, 0, 0, 1, 1, 2, 2, 2]
    assert points.x.dtype.name == "float32" and points.x[1] == 2.0 and points.y[1] == 3.0


def test_kept_map_positions_are_read_once_and_classes_follow_corrections(
    eight: tuple[Store, int, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id, ids = eight
    first = shown_map(store, run_id)
    assert list(first.cluster) == [0, 0, 0, 1, 1, 2, 2, 2]

    def read_again(*args: object) -> None:
        raise AssertionError("a finished run's positions were read a second time")

    monkeypatch.setattr(maps_service, "map_positions", read_again)
    move_images(store, run_id, [ids[0], ids[3]], 2)
    merge_clusters(store, run_id, [1], 0)
    again = shown_map(store, run_id)
    assert list(again.image_ids) == ids
    assert list(again.cluster) == [2, 0, 0, 2, 0, 2, 2, 2]
    assert list(again.x) == list(first.x) and list(again.y) == list(first.y)


def test_map_joins_positions_to_the_classes_the_run_holds_now() -> None:
    positions = MapPositions(
        np.array([1, 2, 3, 5]), np.arange(4, dtype=np.float32), np.ones(4, dtype=np.float32)
    )
    # Image 2 left the run; image 7 was classified later (no position); 5 is unknown.
    points = join_classes(positions, {0: np.array([3, 1]), -1: np.array([5]), 1: np.array([7])})
    assert list(points.image_ids) == [1, 3, 5]
    assert list(points.cluster) == [0, 0, -1]
    assert list(points.x) == [0.0, 2.0, 3.0]
    assert list(join_classes(positions, {}).image_ids) == []
