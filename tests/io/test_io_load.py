"""Loading many images into one ImageSet: mode and size decisions, bad files, every source kind."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from io_samples import (
    animated_gif,
    encode,
    gradient_rgb,
    oriented_jpeg,
    palette_alpha_png,
    sixteen_bit_png,
)

from pixclass.errors import InputError, NoImagesError
from pixclass.io import ImageSet, decode_image, load_images, load_source
from pixclass.io.load import check_size


def _gray(value: int, height: int = 12, width: int = 10) -> bytes:
    return encode(np.full((height, width), value, dtype=np.uint8), "PNG")


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_every_bad_file_is_reported_and_every_good_file_loaded(mixed_folder) -> None:
    folder, good, bad = mixed_folder
    (folder / "bomb.png").write_bytes(encode(np.zeros((100, 100), dtype=np.uint8), "PNG"))
    imageset = load_images(folder, max_pixels=5_000)

    assert sorted(imageset.names) == sorted(good)
    reasons = {item.path: item.reason for item in imageset.skipped}
    assert set(reasons) == set(bad) | {"bomb.png"}
    for name, word in bad.items():
        assert word in reasons[name]
    assert reasons["bomb.png"] == "decompression bomb: 10000 pixels exceeds the limit of 5000"
    # All share 20x30 and are colour, so that is kept; and each equals its lone decode.
    assert imageset.images.shape == (len(good), 20, 30, 3)
    for name, image in zip(imageset.names, imageset.images, strict=True):
        assert np.array_equal(image, decode_image(folder / name, mode="RGB"))


def test_grayscale_set_is_l_and_one_colour_image_makes_it_rgb(tmp_path: Path) -> None:
    gray = _write(tmp_path / "gray", {"a.png": _gray(10), "b.png": _gray(200)})
    loaded = load_images(gray)
    assert loaded.color_mode == "L" and loaded.images.shape == (2, 12, 10)
    assert loaded.images[1].max() == 200

    mixed = _write(tmp_path / "mixed", {"a.png": _gray(10), "c.png": palette_alpha_png()})
    assert load_images(mixed, size=(12, 10)).color_mode == "RGB"


def test_mixed_sizes_become_64x64(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"a.png": _gray(10, 12, 10), "b.png": _gray(90, 30, 20)})
    loaded = load_images(folder)
    assert loaded.images.shape == (2, 64, 64)
    assert loaded.images[1].min() == 90


def test_one_large_size_becomes_64x64(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"a.png": _gray(10, 300, 20)})
    assert load_images(folder).images.shape == (1, 64, 64)


def test_explicit_mode_and_size(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"a.png": encode(gradient_rgb(), "PNG"), "b.png": _gray(7)})
    assert load_images(folder, mode="L", size=16).images.shape == (2, 16, 16)
    rgb = load_images(folder, mode="RGB", size=(8, 12))
    assert rgb.images.shape == (2, 8, 12, 3)
    assert (rgb.images[1] == 7).all()


def test_size_option_forms() -> None:
    assert check_size("auto") == "auto" and check_size(None) == "auto"
    assert check_size(32) == (32, 32) and check_size("24x40") == (24, 40)
    assert check_size((5, 6)) == (5, 6)
    for bad in (0, "big", (1, 2, 3), -4, "10x0"):
        with pytest.raises(InputError, match="invalid image size"):
            check_size(bad)
    with pytest.raises(InputError, match="unknown colour mode"):
        load_images(np.zeros((1, 2, 2), np.uint8), mode="CMYK")  # type: ignore[arg-type]


def test_auto_decisions_use_the_shown_orientation(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"a.jpg": oriented_jpeg(6), "b.jpg": oriented_jpeg(6)})
    loaded = load_images(folder)
    assert loaded.images.shape == (2, 30, 10)


@pytest.mark.parametrize("mode", ["auto", "L", "RGB"])
def test_early_decoding_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    la = np.stack([np.full((9, 9), 50, np.uint8), np.full((9, 9), 128, np.uint8)], axis=-1)
    folder = _write(
        tmp_path,
        {
            "gray.png": _gray(10),
            "rgb.png": encode(gradient_rgb(), "PNG"),
            "palette.png": palette_alpha_png(),
            "deep.png": sixteen_bit_png(np.arange(64).reshape(8, 8) * 1000),
            "la.png": encode(la, "PNG"),
            "photo.jpg": encode(gradient_rgb(), "JPEG"),
            "gif.gif": animated_gif(),
        },
    )
    early = load_images(folder, mode=mode)  # type: ignore[arg-type]
    monkeypatch.setattr("pixclass.io.batch.CACHE_BYTES", 0)  # every image decoded in pass 2
    late = load_images(folder, mode=mode)  # type: ignore[arg-type]
    assert early.images.shape == late.images.shape == (7, 64, 64, *early.images.shape[3:])
    assert np.array_equal(early.images, late.images)


def test_progress_reports_both_stages(mixed_folder) -> None:
    folder, good, bad = mixed_folder
    calls: list[tuple[str, int, int]] = []
    load_images(folder, progress=lambda stage, done, total: calls.append((stage, done, total)))
    total = len(good) + len(bad)
    assert ("read", total, total) in calls
    assert calls[-1] == ("decode", len(good), len(good))
    explicit: list[str] = []
    load_images(folder, mode="L", size=8, progress=lambda s, d, t: explicit.append(s))
    assert set(explicit) == {"decode"}


def test_no_readable_image_summarises_the_reasons(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"a.png": b"", "b.png": b"", "c.png": b"junk"})
    with pytest.raises(NoImagesError) as caught:
        load_images(folder)
    message = str(caught.value)
    assert "3 file(s) skipped" in message
    assert "empty file (0 bytes) (2)" in message and "not an image" in message
    with pytest.raises(NoImagesError, match="no image files found"):
        load_images(_write(tmp_path / "empty", {"x.txt": b"hi"}))
    with pytest.raises(NoImagesError):
        load_images(folder, mode="L", size=8)  # the decode pass alone finds them bad too


def test_zip_source(tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("digits/one.png", _gray(1))
        zf.writestr("digits/two.png", _gray(2))
        zf.writestr("digits/bad.png", b"nope")
    loaded = load_images(archive)
    assert loaded.names == ["digits/one.png", "digits/two.png"]
    assert [int(image.max()) for image in loaded.images] == [1, 2]
    assert [s.path for s in loaded.skipped] == ["digits/bad.png"]
    assert loaded.source == str(archive)


def test_list_source_with_a_missing_file_and_a_directory(tmp_path: Path) -> None:
    _write(tmp_path, {"a.png": _gray(5)})
    (tmp_path / "folder.png").mkdir()
    loaded = load_images([tmp_path / "a.png", tmp_path / "gone.png", tmp_path / "folder.png"])
    assert loaded.names == [str(tmp_path / "a.png")]
    reasons = {Path(s.path).name: s.reason for s in loaded.skipped}
    assert reasons == {
        "gone.png": "file not found",
        "folder.png": "is a directory, not an image file",
    }


def test_numpy_source() -> None:
    gray = np.arange(2 * 5 * 4, dtype=np.uint8).reshape(2, 5, 4)
    loaded = load_images(gray)
    assert loaded.names == ["array:0", "array:1"] and loaded.images is gray
    assert load_images(gray, mode="RGB").images.shape == (2, 5, 4, 3)
    assert load_images(gray[..., None], size=3).images.shape == (2, 3, 3)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    assert np.array_equal(load_images(rgb, mode="L").images, gray)
    with pytest.raises(InputError, match="must be uint8"):
        load_images(gray.astype(np.float32))
    with pytest.raises(NoImagesError):
        load_images(gray[:0])


def test_load_source_dispatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digits = load_source("digits")
    assert len(digits) == 1797 and digits.labels is not None
    assert load_source("digits", size=16).images.shape == (1797, 16, 16)
    assert isinstance(load_source(np.zeros((3, 4, 4), np.uint8)), ImageSet)

    # An existing path wins over a dataset name.
    _write(tmp_path / "digits", {"only.png": _gray(3)})
    monkeypatch.chdir(tmp_path)
    assert load_source("digits").names == ["only.png"]
    with pytest.raises(InputError, match="no such file or directory: nothing-here"):
        load_source("nothing-here")


def test_labeled_folder(tmp_path: Path) -> None:
    images = _write(
        tmp_path / "set" / "images",
        {
            "00000.png": _gray(1),
            "00001.png": _gray(2),
            "00002.png": _gray(3),
            "extra.png": _gray(4),
        },
    )
    (images.parent / "labels.csv").write_text(
        "file,label\n00000.png,cat\nimages/00001.png,dog\n./00002.png,cat\nmissing.png,dog\n"
    )
    loaded = load_source(images.parent)
    assert loaded.names == ["00000.png", "00001.png", "00002.png", "extra.png"]
    assert loaded.class_names == ["cat", "dog"]
    assert loaded.labels is not None and loaded.labels.tolist() == [0, 1, 0, -1]
    (images.parent / "labels.csv").write_text("name,class\na,b\n")
    with pytest.raises(InputError, match="must have the columns file,label"):
        load_source(images.parent)
