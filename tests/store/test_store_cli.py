"""The store commands through the real command line (click's runner, real database)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from store_runs import stored_run
from store_samples import write_bad_files, write_mnist_pngs

from pixclass.config import Settings
from pixclass.store import Store, head_revision, list_images

pytestmark = pytest.mark.usefixtures("mnist_available")


@pytest.fixture
def run_cli(cli: Any, settings: Settings) -> Any:
    def invoke(*args: str, code: int = 0) -> Result:
        env = {
            "PIXCLASS_DATABASE_URL": settings.database_url,
            "PIXCLASS_BLOB_DIR": settings.blob_dir,
        }
        result = CliRunner().invoke(
            cli, ["--data-dir", str(settings.data_dir), *args], env=env, catch_exceptions=False
        )
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_db_commands(run_cli: Any) -> None:
    assert "no schema" in run_cli("db", "current", code=1).output
    assert "pixclass db upgrade" in run_cli("collections", "list", code=1).output
    assert f"to {head_revision()}" in run_cli("db", "upgrade").output
    assert "up to date" in run_cli("db", "upgrade").output
    assert f"{head_revision()} (up to date)" in run_cli("db", "current").output


def test_ingest_collections_and_export(run_cli: Any, store: Store, tmp_path: Path) -> None:
    written = write_mnist_pngs(tmp_path / "src", 12)
    write_bad_files(tmp_path / "src")
    first = run_cli("ingest", str(tmp_path / "src"), "--collection", "d", "-q")
    assert "d: 12 added, 0 already present, 3 skipped" in first.output
    assert "skipped truncated.png: truncated image data" in first.output
    second = run_cli("ingest", str(tmp_path / "src"), "-c", "d", "-q")
    assert "0 added, 12 already present, 3 skipped" in second.output
    assert "d\t12 images\t0 runs" in run_cli("collections", "list").output

    run_id = stored_run(store, "d", [i % 3 for i in range(12)])
    assert "class 2 is now twos" in run_cli("classes", "rename", str(run_id), "2", "twos").output
    image = list_images(store, "d")[0]
    assert "is in twos" in run_cli("assign", str(image.id), "twos").output
    listing = run_cli("runs", "list", "--collection", "d").output
    assert f"{run_id}\td\tdone\tk=3" in listing
    shown = run_cli("runs", "show", str(run_id)).output
    assert "twos" in shown and "images: 12" in shown

    table = run_cli("export", "-", "-c", "d", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(table[table.index("image_id") :])))
    assert rows[0]["class_name"] == "twos" and rows[0]["set_by_person"] == "True"
    run_cli("export", str(tmp_path / "out.zip"), "-c", "d", "--format", "zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.read("twos/00000.png") == written["00000.png"]
    assert "12 images checked: ok" in run_cli("db", "check").output
    assert "removed 0 unused" in run_cli("db", "gc").output

    assert "created collection e" in run_cli("collections", "create", "e").output
    assert "already exists" in run_cli("collections", "create", "e", code=1).output
    assert "(12 images)" in run_cli("collections", "delete", "d", "--yes").output
    assert "no collection named 'd'" in run_cli("runs", "list", "-c", "d", code=1).output


def test_user_errors_are_one_line(run_cli: Any, store: Store) -> None:
    assert "no such file" in run_cli("ingest", "/no/such/dir", "-c", "x", code=1).output
    assert "no run with id 7" in run_cli("runs", "show", "7", code=1).output
    assert "no image with id 5" in run_cli("assign", "5", "0", code=1).output


@pytest.mark.slow
def test_the_cli_corrects_splits_and_finds_similar_images_like_the_app(
    run_cli: Any, store: Store, tmp_path: Path
) -> None:
    from pixclass.services.cluster import run_collection_clustering
    from pixclass.services.ingest import ingest
    from pixclass.store import list_clusters
    from pixclass.store.results import effective_classes

    write_mnist_pngs(tmp_path / "src", 60)
    ingest(store, tmp_path / "src", "d")
    run_id = run_collection_clustering(
        store, "d", n_clusters=3, seed=0, map_2d=False, refine=False, deskew=False
    )
    before = {c.image_id: c.cluster for c in effective_classes(store, run_id)}
    ids = sorted(before)

    # similar: k images, never the image itself, each with its class from the run.
    lines = run_cli("similar", str(run_id), str(ids[0]), "--k", "5").output.strip().splitlines()
    found = [int(line.split("\t")[0]) for line in lines]
    assert len(found) == 5 and ids[0] not in found and set(found) <= set(ids)
    assert all(line.split("\t")[1].startswith("cluster-") for line in lines)

    moved = run_cli("classes", "move", str(run_id), "cluster-2", str(ids[0]), str(ids[1]))
    assert "2 image(s) moved to cluster-2" in moved.output
    assert "1 image(s) confirmed" in run_cli("classes", "confirm", str(run_id), str(ids[2])).output
    after = {c.image_id: c for c in effective_classes(store, run_id)}
    assert after[ids[0]].cluster == after[ids[1]].cluster == 2 and after[ids[2]].set_by_person

    merged = run_cli("classes", "merge", str(run_id), "1", "--into", "0").output
    sizes = {c.index: c.size for c in list_clusters(store, run_id)}
    assert f"merged into cluster-0 ({sizes[0]} images)" in merged and sizes[1] == 0

    split = run_cli("classes", "split", str(run_id), "cluster-0", "--into", "2").output
    parts = [line.split("\t") for line in split.strip().splitlines()]
    assert [p[0] for p in parts] == ["0", "3"]  # the class keeps a part, one new class
    assert sum(int(p[2].split()[0]) for p in parts) == sizes[0]
    assert "has no class 'nine'" in run_cli("classes", "split", str(run_id), "nine", code=1).output


def test_recut_makes_a_new_run_with_other_counts_and_keeps_names(
    run_cli: Any, store: Store, tmp_path: Path
) -> None:
    from pixclass.services.cluster import run_collection_clustering
    from pixclass.services.ingest import ingest
    from pixclass.store import list_clusters
    from pixclass.store.results import effective_classes

    write_mnist_pngs(tmp_path / "src", 80)
    ingest(store, tmp_path / "src", "d")
    run_id = run_collection_clustering(
        store, "d", n_clusters=3, seed=0, map_2d=True, refine=False, deskew=False
    )
    run_cli("clusters", "rename", str(run_id), "0", "biggest")  # the old name still works
    before = {c.image_id: c for c in effective_classes(store, run_id)}

    out = run_cli("recut", str(run_id), "--k", "6").output
    new_id = int(out.split()[1].rstrip(":"))
    assert new_id != run_id and f"run {run_id} re-cut into 6 classes" in out
    clusters = list_clusters(store, new_id)
    assert len([c for c in clusters if c.size]) == 6
    after = {c.image_id: c for c in effective_classes(store, new_id)}
    # Every image of the old run is in the new one, at the same place on the map.
    assert set(after) == set(before)
    assert all((after[i].x, after[i].y) == (before[i].x, before[i].y) for i in before)
    # The named class names the new class that took most of its images.
    [named] = [c for c in clusters if c.name == "biggest"]
    old_members = {i for i, c in before.items() if c.cluster == 0}
    new_members = {i for i, c in after.items() if c.cluster == named.index}
    assert len(old_members & new_members) > len(old_members) / 6
    # The old run is untouched; a bad k is one clear line.
    assert len([c for c in list_clusters(store, run_id) if c.size]) == 3
    assert "k must be between 1 and" in run_cli("recut", str(run_id), "--k", "0", code=1).output


def test_undo_corrections_and_a_taken_name(run_cli: Any, store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "src", 6)
    run_cli("ingest", str(tmp_path / "src"), "-c", "u", "-q")
    run_id = str(stored_run(store, "u", [0, 0, 1, 1, 2, 2]))
    run_cli("classes", "rename", run_id, "1", "ones")
    taken = run_cli("classes", "rename", run_id, "2", "ones", code=1).output
    assert "class 1 (ones)" in taken and "already has the name 'ones'" in taken
    run_cli("classes", "merge", run_id, "2", "--into", "ones")
    log = run_cli("corrections", run_id).output.splitlines()
    assert [line.split("\t")[3] for line in log] == ["merge", "rename"]
    assert all("cli" in line.split("\t")[2] for line in log)
    assert "undid" in run_cli("undo", run_id).output
    assert "undone" in run_cli("corrections", run_id).output.splitlines()[0]
    assert "merge" not in run_cli("undo", run_id).output  # the rename, next
    nothing = run_cli("undo", run_id, code=1).output
    assert "no correction left to undo" in nothing
    no_learning = run_cli("learn", run_id, code=1).output
    assert "no corrections to learn from" in no_learning
