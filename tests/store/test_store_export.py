"""Export: listings and the original files sorted by class, byte-identical."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from store_runs import stored_run
from store_samples import write_mnist_pngs

from pixclass.errors import InputError, NotFoundError
from pixclass.services.export import export_collection, export_paths, export_rows
from pixclass.services.ingest import ingest
from pixclass.store import Store, assign_image, list_images, rename_cluster

pytestmark = pytest.mark.usefixtures("mnist_available")


@pytest.fixture
def named(store: Store, tmp_path: Path) -> tuple[Store, int, dict[str, bytes]]:
    """Six digits in nested folders (two share a file name), clustered, one cluster named."""
    written = write_mnist_pngs(tmp_path / "src" / "a", 4)
    more = write_mnist_pngs(tmp_path / "src" / "b", 6)  # b/00000..3 = a/00000..3
    (tmp_path / "src" / "b" / "00000.png").unlink()
    (tmp_path / "src" / "b" / "00000.png").write_bytes(more["00005.png"])  # a name clash
    (tmp_path / "src" / "b" / "00005.png").unlink()
    ingest(store, tmp_path / "src", "six")
    files = {f"a/{n}": d for n, d in written.items()}
    files.update({"b/00000.png": more["00005.png"], "b/00004.png": more["00004.png"]})
    run_id = stored_run(store, "six", [0, 0, 1, 1, 0, 1])
    rename_cluster(store, run_id, 1, "odd/ones")
    return store, run_id, files


def test_csv_and_json(named: tuple[Store, int, dict[str, bytes]], tmp_path: Path) -> None:
    store, run_id, _ = named
    export_collection(store, "six", tmp_path / "out.csv", fmt="csv")
    with open(tmp_path / "out.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["class_name"] for r in rows] == [
        "cluster-0",
        "cluster-0",
        "odd/ones",
        "odd/ones",
        "cluster-0",
        "odd/ones",
    ]
    assert rows[0]["sha256"] and rows[0]["file_name"] == "a/00000.png"
    export_collection(store, "six", tmp_path / "out.json", fmt="json", run_id=run_id)
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["run"]["id"] == run_id
    assert [c["display_name"] for c in document["clusters"]] == ["cluster-0", "odd/ones"]
    assert len(document["images"]) == 6


def test_folders_hold_the_original_bytes(
    named: tuple[Store, int, dict[str, bytes]], tmp_path: Path
) -> None:
    store, _, files = named
    image = list_images(store, "six")[1]
    assign_image(store, image.id, "odd/ones")  # a person moves a/00001.png
    export_collection(store, "six", tmp_path / "out", fmt="folders")
    found = {
        p.relative_to(tmp_path / "out").as_posix(): p.read_bytes()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    }
    assert sorted(found) == [
        "cluster-0/00000-2.png",
        "cluster-0/00000.png",
        "odd_ones/00001.png",
        "odd_ones/00002.png",
        "odd_ones/00003.png",
        "odd_ones/00004.png",
    ]
    assert found["cluster-0/00000.png"] == files["a/00000.png"]
    assert found["cluster-0/00000-2.png"] == files["b/00000.png"]
    assert found["odd_ones/00001.png"] == files["a/00001.png"]
    assert found["odd_ones/00004.png"] == files["b/00004.png"]


def test_zip_matches_folders(named: tuple[Store, int, dict[str, bytes]], tmp_path: Path) -> None:
    store, run_id, files = named
    export_collection(store, "six", tmp_path / "out.zip", fmt="zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        names = sorted(archive.namelist())
        assert archive.read("cluster-0/00000-2.png") == files["b/00000.png"]
    rows = export_rows(store, "six", run_id)
    assert names == sorted(export_paths(rows).values())


def test_refusals(named: tuple[Store, int, dict[str, bytes]], tmp_path: Path) -> None:
    store, run_id, _ = named
    (tmp_path / "taken.csv").write_text("x")
    with pytest.raises(InputError, match="already exists"):
        export_collection(store, "six", tmp_path / "taken.csv", fmt="csv")
    export_collection(store, "six", tmp_path / "taken.csv", fmt="csv", overwrite=True)
    with pytest.raises(InputError, match="unknown export format"):
        export_collection(store, "six", tmp_path / "x", fmt="xml")
    with pytest.raises(NotFoundError, match="no collection"):
        export_collection(store, "nope", tmp_path / "x", fmt="csv")
    write_mnist_pngs(tmp_path / "other", 2)
    ingest(store, tmp_path / "other", "other")
    with pytest.raises(NotFoundError, match="no finished run"):
        export_collection(store, "other", tmp_path / "y.csv", fmt="csv")
    with pytest.raises(InputError, match="belongs to collection"):
        export_collection(store, "other", tmp_path / "y.csv", fmt="csv", run_id=run_id)


def test_images_added_after_the_run_are_unknown(
    named: tuple[Store, int, dict[str, bytes]], tmp_path: Path
) -> None:
    store, _, _ = named
    write_mnist_pngs(tmp_path / "later", 8)
    ingest(store, tmp_path / "later", "six")
    rows = export_rows(store, "six", named[1])
    assert [r.class_name for r in rows].count("unknown") == 2
