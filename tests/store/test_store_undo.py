"""The corrections log: every kind of correction is logged, and undoing it restores the exact
assignments and classes of before (whole tables compared), on SQLite and PostgreSQL. A merge or
a split keeps each image's confidence and flag; class names are unique within a run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from store_runs import stored_run
from store_samples import write_mnist_pngs

from pixclass.errors import ConflictError, NotFoundError
from pixclass.services.corrections import (
    assign_image,
    confirm_images,
    list_corrections,
    merge_clusters,
    move_images,
    rename_cluster,
    undo_last_correction,
)
from pixclass.services.ingest import ingest
from pixclass.store import Store, list_images
from pixclass.store.corrections import split_cluster
from pixclass.store.schema import Assignment, Cluster

pytestmark = pytest.mark.usefixtures("mnist_available")

Tables = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


@pytest.fixture
def eight(store: Store, tmp_path: Path) -> tuple[Store, int, list[int]]:
    """Ten digits; a run put eight in classes 0,0,0,1,1,2,2,2, the ninth in no class (unknown),
    and holds no assignment for the tenth (added after the run)."""
    write_mnist_pngs(tmp_path / "ten", 10)
    ingest(store, tmp_path / "ten", "ten")
    ids = [image.id for image in list_images(store, "ten")]
    run_id = stored_run(store, "ten", [0, 0, 0, 1, 1, 2, 2, 2, -1, 2])
    with store.write() as session:
        session.delete(session.get_one(Assignment, (run_id, ids[9])))
        query = select(Cluster).where(Cluster.run_id == run_id, Cluster.index == 2)
        session.scalars(query).one().size = 3
    return store, run_id, ids


def tables(store: Store, run_id: int) -> Tables:
    """The whole assignment and class tables of a run, every column."""
    with store.session() as session:
        assignments = [
            (a.image_id, a.cluster, a.confidence, a.set_by_person, a.updated_at, a.x, a.y)
            for a in session.scalars(
                select(Assignment).where(Assignment.run_id == run_id).order_by(Assignment.image_id)
            )
        ]
        clusters = [
            (c.index, c.name, c.size, c.representative_image_id)
            for c in session.scalars(
                select(Cluster).where(Cluster.run_id == run_id).order_by(Cluster.index)
            )
        ]
    return assignments, clusters


CORRECTIONS: dict[str, Callable[[Store, int, list[int]], object]] = {
    "move": lambda s, r, ids: move_images(s, r, [ids[0], ids[3], ids[8], ids[9]], 2, who="ann"),
    "move-one": lambda s, r, ids: assign_image(s, ids[4], "cluster-0", run_id=r, who="ann"),
    "confirm": lambda s, r, ids: confirm_images(s, r, [ids[1], ids[5]], who="ann"),
    "merge": lambda s, r, ids: merge_clusters(s, r, [1, 2], into=0, who="ann"),
    "split": lambda s, r, ids: split_cluster(s, r, 2, [[ids[5]], [ids[6], ids[7]]], who="ann"),
    "rename": lambda s, r, ids: rename_cluster(s, r, 1, "fours", who="ann"),
}


@pytest.mark.parametrize("kind", sorted(CORRECTIONS))
def test_undo_restores_the_exact_tables(eight: tuple[Store, int, list[int]], kind: str) -> None:
    store, run_id, ids = eight
    rename_cluster(store, run_id, 0, "zeros")  # an earlier correction, that stays
    start = tables(store, run_id)
    CORRECTIONS[kind](store, run_id, ids)
    changed = tables(store, run_id)
    assert changed != start
    event = list_corrections(store, run_id)[0]
    assert (event.kind, event.who, event.undone) == (kind.removesuffix("-one"), "ann", False)
    undone = undo_last_correction(store, run_id)
    assert undone.id == event.id and undone.undone
    assert tables(store, run_id) == start
    # The one before is next; then nothing is left.
    undo_last_correction(store, run_id)
    assert tables(store, run_id)[1][0][1] is None
    with pytest.raises(NotFoundError, match="no correction left to undo"):
        undo_last_correction(store, run_id)


def test_undo_goes_back_step_by_step(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, ids = eight
    states = [tables(store, run_id)]
    for kind in ("move", "merge", "rename", "confirm"):
        CORRECTIONS[kind](store, run_id, ids)
        states.append(tables(store, run_id))
    for expected in reversed(states[:-1]):
        undo_last_correction(store, run_id)
        assert tables(store, run_id) == expected
    assert [e.kind for e in list_corrections(store, run_id)] == [
        "confirm",
        "rename",
        "merge",
        "move",
    ]


def test_merge_and_split_keep_confidence_and_flags(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, ids = eight
    move_images(store, run_id, [ids[3]], 1)  # a person's decision, in class 1
    before = {row[0]: row for row in tables(store, run_id)[0]}
    merge_clusters(store, run_id, [1], into=0)
    split_cluster(store, run_id, 2, [[ids[5], ids[6]], [ids[7]]])
    after = {row[0]: row for row in tables(store, run_id)[0]}
    for image_id in ids[:9]:
        assert after[image_id][2:4] == before[image_id][2:4]  # confidence, set_by_person
    assert after[ids[4]][1] == 0 and not after[ids[4]][3]
    assert after[ids[3]][3]


def test_class_names_are_unique_within_a_run(eight: tuple[Store, int, list[int]]) -> None:
    store, run_id, _ = eight
    rename_cluster(store, run_id, 0, "four")
    with pytest.raises(ConflictError, match=r"class 0 \(four\) of run \d+ already has the name"):
        rename_cluster(store, run_id, 1, " four ")
    with pytest.raises(ConflictError, match="class 2 .* already has the name 'cluster-2'"):
        rename_cluster(store, run_id, 1, "cluster-2")
    assert rename_cluster(store, run_id, 0, "four").name == "four"  # its own name again
    assert [e.kind for e in list_corrections(store, run_id)] == ["rename", "rename"]
