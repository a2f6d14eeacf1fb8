"""Ingest: byte-identical, idempotent, names kept, bad files reported, thumbnails, datasets; files
given one by one (uploads, an inbox) take the same path."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from store_samples import mnist_arrays, photo_bytes, png_bytes, write_bad_files, write_mnist_pngs

from pixclass.config import Settings
from pixclass.errors import InputError
from pixclass.services import ingest as ingest_module
from pixclass.services.ingest import ingest
from pixclass.store import (
    Store,
    delete_collection,
    get_thumbnail,
    image_names,
    list_collections,
    list_images,
    open_store,
    read_image_bytes,
)
from pixclass.store.blobs import registered_shas
from pixclass.store.checks import check_consistency

pytestmark = pytest.mark.usefixtures("mnist_available")


def test_folder_is_stored_byte_identical(store: Store, tmp_path: Path) -> None:
    written = write_mnist_pngs(tmp_path / "digits", 120)
    result = ingest(store, tmp_path / "digits", "digits", batch_size=50)
    assert (result.added, result.present, result.skipped) == (120, 0, [])
    images = list_images(store, "digits")
    assert [i.file_name for i in images] == sorted(written)
    for image in images:
        data = read_image_bytes(store, image.id)
        assert data == written[image.file_name]
        assert image.sha256 == hashlib.sha256(data).hexdigest()
        assert (image.width, image.height, image.mode, image.format) == (28, 28, "L", "PNG")
        assert image.size_bytes == len(data)
    assert check_consistency(store).ok


def test_second_ingest_adds_nothing(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 80)
    ingest(store, tmp_path / "digits", "digits", batch_size=30)
    again = ingest(store, tmp_path / "digits", "digits", batch_size=30)
    assert (again.added, again.present, again.names_added) == (0, 80, 0)
    assert len(list_images(store, "digits")) == 80


def test_same_bytes_under_another_name_is_one_image(store: Store, tmp_path: Path) -> None:
    written = write_mnist_pngs(tmp_path / "digits", 10)
    (tmp_path / "digits" / "copy-of-3.png").write_bytes(written["00003.png"])
    result = ingest(store, tmp_path / "digits", "digits")
    assert (result.added, result.present, result.names_added) == (10, 1, 1)
    image = next(i for i in list_images(store, "digits") if i.file_name == "00003.png")
    assert image_names(store, image.id) == ["00003.png", "copy-of-3.png"]
    again = ingest(store, tmp_path / "digits", "digits")
    assert (again.added, again.names_added) == (0, 0)


def test_bad_files_are_skipped_with_reasons(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "mixed", 5)
    expected = write_bad_files(tmp_path / "mixed")
    result = ingest(store, tmp_path / "mixed", "mixed")
    assert result.added == 5
    reasons = {item.path: item.reason for item in result.skipped}
    assert set(reasons) == set(expected)
    for name, words in expected.items():
        assert words in reasons[name]
    assert check_consistency(store).ok


def test_zip_source(store: Store, tmp_path: Path) -> None:
    written = write_mnist_pngs(tmp_path / "digits", 12)
    archive = tmp_path / "digits.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in written.items():
            zf.writestr(f"inner/{name}", data)
    result = ingest(store, archive, "zipped")
    assert result.added == 12
    images = list_images(store, "zipped")
    assert {i.file_name for i in images} == {f"inner/{n}" for n in written}
    assert {read_image_bytes(store, i.id) for i in images} == set(written.values())


def test_labeled_folder_keeps_known_labels(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "labeled", 20, labels_csv=True)
    ingest(store, tmp_path / "labeled", "labeled")
    labels = [i.known_label for i in list_images(store, "labeled")]
    assert labels[:5] == ["7", "2", "1", "0", "4"]  # the first MNIST test digits


def test_dataset_name_is_ingested_as_png(store: Store) -> None:
    result = ingest(store, "digits", "sk-digits")
    assert result.added == 1797 - result.present  # a few digits are pixel-identical
    images = list_images(store, "sk-digits")
    assert images[0].file_name == "digits-00000.png"
    assert images[0].known_label == "0"
    data = read_image_bytes(store, images[0].id)
    assert Image.open(io.BytesIO(data)).size == (8, 8)
    assert ingest(store, "digits", "sk-digits").added == 0


def test_unknown_source_is_an_input_error(store: Store) -> None:
    with pytest.raises(InputError, match="no such file"):
        ingest(store, "/nowhere/at/all", "x")


def test_thumbnails(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_mnist_pngs(folder, 1)
    (folder / "photo.jpg").write_bytes(photo_bytes(320, 200))
    (folder / "tiny.bmp").write_bytes(photo_bytes(20, 10, "BMP"))
    ingest(store, folder, "mixed")
    by_name = {i.file_name: i for i in list_images(store, "mixed")}
    digit, mime = get_thumbnail(store, by_name["00000.png"].id)
    assert mime == "image/png" and digit == read_image_bytes(store, by_name["00000.png"].id)
    for name, size in (("photo.jpg", (96, 60)), ("tiny.bmp", (20, 10))):
        data, mime = get_thumbnail(store, by_name[name].id)
        assert mime == "image/webp"
        assert Image.open(io.BytesIO(data)).size == size


def test_collections_share_bytes_and_delete_frees_them(store: Store, tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "a", 30)
    write_mnist_pngs(tmp_path / "b", 40)  # the same first 30 digits, and 10 more
    ingest(store, tmp_path / "a", "a")
    ingest(store, tmp_path / "b", "b")
    with store.session() as session:
        assert len(registered_shas(session)) == 40
    assert delete_collection(store, "b") == 40
    with store.session() as session:
        assert len(registered_shas(session)) == 30
    assert [c.name for c in list_collections(store)] == ["a"]
    assert check_consistency(store).ok


def test_directory_blob_store(settings: Settings, store: Store, tmp_path: Path) -> None:
    blob_dir = tmp_path / "blobs"
    written = write_mnist_pngs(tmp_path / "digits", 25)
    with open_store(replace(settings, blob_dir=str(blob_dir))) as files_store:
        assert ingest(files_store, tmp_path / "digits", "digits").added == 25
        images = list_images(files_store, "digits")
        for image in images:
            assert read_image_bytes(files_store, image.id) == written[image.file_name]
            sha = image.sha256
            assert (blob_dir / sha[:2] / sha[2:4] / f"{sha}.bin").read_bytes() == written[
                image.file_name
            ]
        assert check_consistency(files_store).ok
        delete_collection(files_store, "digits")
        assert list(blob_dir.glob("??/??/*.bin")) == []


def test_files_given_as_bytes(store: Store) -> None:
    images, _ = mnist_arrays(2)
    first, second = png_bytes(images[0]), png_bytes(images[1])
    files = [("a.png", first), ("b.png", b"not an image"), ("c.png", first)]
    result = ingest(store, files, "few")
    assert (result.added, result.present, result.names_added) == (1, 1, 1)
    assert result.new_names == {"a.png"}
    assert result.image_ids["a.png"] == result.image_ids["c.png"]
    assert [s.path for s in result.skipped] == ["b.png"] and "b.png" not in result.image_ids
    again = ingest(store, [("d.png", second), ("a.png", first)], "few")
    assert again.new_names == {"d.png"} and (again.added, again.present) == (1, 1)
    assert again.image_ids["a.png"] == result.image_ids["a.png"]
    assert len(list_images(store, "few")) == 2
    image_id = result.image_ids["a.png"]
    assert image_names(store, image_id) == ["a.png", "c.png"]


@pytest.mark.parametrize("few_files", [0, 10_000], ids=["whole-index", "looked-up"])
def test_a_few_files_and_many_take_the_same_path(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few_files: int
) -> None:
    """Looking up only the files' own hashes decides as reading the collection's whole index."""
    monkeypatch.setattr(ingest_module, "FEW_FILES", few_files)
    written = write_mnist_pngs(tmp_path / "digits", 12)
    ingest(store, tmp_path / "digits", "digits")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "again.png").write_bytes(written["00003.png"])
    (tmp_path / "inbox" / "broken.png").write_bytes(b"\x89PNG\r\n")
    more = write_mnist_pngs(tmp_path / "more", 14)
    (tmp_path / "inbox" / "new.png").write_bytes(more["00013.png"])
    names = ["again.png", "broken.png", "new.png", "missing.png"]
    entries = [(name, tmp_path / "inbox" / name) for name in names]
    entries.append(("00004.png", written["00004.png"]))  # bytes and paths mix
    result = ingest(store, entries, "digits", batch_size=2)
    assert (result.added, result.present, result.names_added) == (1, 2, 1)
    assert result.new_names == {"new.png"}
    assert sorted(s.path for s in result.skipped) == ["broken.png", "missing.png"]
    by_name = {i.file_name: i.id for i in list_images(store, "digits")}
    assert result.image_ids["again.png"] == by_name["00003.png"]
    assert result.image_ids["00004.png"] == by_name["00004.png"]
    assert image_names(store, by_name["00003.png"]) == ["00003.png", "again.png"]
    assert check_consistency(store).ok


def test_a_file_given_by_path_is_read_within_the_size_limit(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(photo_bytes(64, 64) + bytes(2 * 1024 * 1024))
    small = replace(settings, file_max_mb=1)
    result = ingest(store, [("big.jpg", big)], "limits", settings=small)
    assert result.added == 0
    assert [s.path for s in result.skipped] == ["big.jpg"]
    assert "too large" in result.skipped[0].reason and "file_max_mb" in result.skipped[0].reason
