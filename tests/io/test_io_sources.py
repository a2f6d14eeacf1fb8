"""Finding images in folders, zip files and lists of paths."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from io_samples import encode, gradient_rgb

from pixclass.errors import InputError
from pixclass.io import find_images
from pixclass.io.sources import safe_member_name

PNG = encode(gradient_rgb(), "PNG")


def test_folder_is_searched_recursively_in_sorted_order(tmp_path: Path) -> None:
    for name in ["b.png", "a.JPG", "sub/c.png", "sub/deeper/d.gif", "notes.txt", "e.PNG"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PNG)
    for hidden in [".hidden.png", ".git/x.png", "sub/.cache/y.png"]:
        path = tmp_path / hidden
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PNG)
    (tmp_path / "dir.png").mkdir()  # a folder with an image name is not an image

    entries, skipped = find_images(tmp_path)
    names = [entry.name for entry in entries]
    assert names == ["a.JPG", "b.png", "e.PNG", "sub/c.png", "sub/deeper/d.gif"]
    assert skipped == []
    assert entries[3].path == tmp_path / "sub" / "c.png"
    assert entries[3].read_bytes() == PNG


def test_zip_members(tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("imgs/", b"")
        zf.writestr("imgs/b.png", PNG)
        zf.writestr("imgs/a.png", PNG)
        zf.writestr("readme.txt", b"hi")
        zf.writestr("__MACOSX/imgs/._a.png", b"resource fork")
        zf.writestr("imgs/._b.png", b"resource fork")
        zf.writestr("../../evil.png", PNG)

    entries, skipped = find_images(archive)
    assert [entry.name for entry in entries] == ["evil.png", "imgs/a.png", "imgs/b.png"]
    assert skipped == [] and all(entry.path is None for entry in entries)
    assert entries[1].read_bytes() == PNG


def test_zip_slip_names_are_tamed() -> None:
    assert safe_member_name("../../etc/passwd.png") == "etc/passwd.png"
    assert safe_member_name("/abs/x.png") == "abs/x.png"
    assert safe_member_name("C:\\Users\\x.png") == "Users/x.png"
    assert safe_member_name("a/./b/../c.png") == "a/b/c.png"


def test_corrupt_zip_is_a_clear_error(tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InputError, match="cannot open .*broken.zip as a zip file"):
        find_images(archive)


def test_list_of_paths_keeps_order_and_reports_missing(tmp_path: Path) -> None:
    (tmp_path / "one.png").write_bytes(PNG)
    (tmp_path / "two.dat").write_bytes(PNG)  # any extension is tried when named explicitly
    given: list[str | Path] = [str(tmp_path / "two.dat"), tmp_path / "missing.png"]
    given.append(str(tmp_path / "one.png"))
    entries, skipped = find_images(given)
    assert [entry.name for entry in entries] == [
        str(tmp_path / "two.dat"),
        str(tmp_path / "one.png"),
    ]
    assert [(s.path, s.reason) for s in skipped] == [
        (str(tmp_path / "missing.png"), "file not found")
    ]


def test_single_file(tmp_path: Path) -> None:
    (tmp_path / "one.png").write_bytes(PNG)
    entries, _ = find_images(tmp_path / "one.png")
    assert [entry.read_bytes() for entry in entries] == [PNG]


def test_wrong_path_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        find_images(tmp_path / "nowhere")
    message = str(caught.value)
    assert message.startswith(f"no such file or directory: {tmp_path / 'nowhere'}")
    assert "a folder, a .zip, or a dataset name (mnist, fashion-mnist, digits)" in message
