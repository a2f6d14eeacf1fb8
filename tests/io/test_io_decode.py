"""Decoding single images: every format, orientation, transparency, depth, and every bad file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from io_samples import (
    animated_gif,
    bomb_png,
    encode,
    gradient_rgb,
    oriented_jpeg,
    palette_alpha_png,
    sixteen_bit_png,
    write_bad_images,
    write_good_images,
)

from pixclass.errors import InputError
from pixclass.io import (
    MAX_IMAGE_PIXELS,
    ImageReadError,
    decode_image,
    probe_image,
    sha256_bytes,
    sha256_file,
)
from pixclass.io.decode import has_image_extension


def test_every_format_decodes_to_the_same_picture(tmp_path: Path) -> None:
    formats = write_good_images(tmp_path)
    expected = gradient_rgb().astype(int)
    for name, fmt in formats.items():
        info = probe_image(tmp_path / name)
        assert (info.width, info.height, info.format) == (30, 20, fmt)
        rgb = decode_image(tmp_path / name, mode="RGB")
        assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
        # Lossy formats (JPEG, WebP, GIF's palette) may differ a little, never a lot.
        assert np.abs(rgb.astype(int) - expected).mean() < 12, name
        assert decode_image(tmp_path / name, mode="L").shape == (20, 30)


def test_lossless_png_is_exact_and_bytes_work_like_paths(tmp_path: Path) -> None:
    data = encode(gradient_rgb(), "PNG")
    (tmp_path / "x.png").write_bytes(data)
    assert np.array_equal(decode_image(data, mode="RGB"), gradient_rgb())
    assert np.array_equal(decode_image(tmp_path / "x.png"), decode_image(data))
    assert probe_image(data) == probe_image(str(tmp_path / "x.png"))


def test_resize_to_height_width() -> None:
    data = encode(gradient_rgb(), "PNG")
    assert decode_image(data, mode="L", size=(7, 11)).shape == (7, 11)
    assert decode_image(data, mode="RGB", size=(40, 60)).shape == (40, 60, 3)


def test_large_jpeg_draft_decode_still_resizes_exactly() -> None:
    big = np.kron(gradient_rgb(), np.ones((40, 40, 1), dtype=np.uint8))  # 800x1200
    small = decode_image(encode(big, "JPEG"), mode="RGB", size=(20, 30))
    assert small.shape == (20, 30, 3)
    assert np.abs(small.astype(int) - gradient_rgb().astype(int)).mean() < 12


def test_exif_orientation_is_applied() -> None:
    data = oriented_jpeg(orientation=6)
    info = probe_image(data)
    assert (info.width, info.height) == (10, 30)
    image = decode_image(data, mode="L")
    assert image.shape == (30, 10)
    # Rotating clockwise puts the dark left half on top.
    assert image[:15].mean() < 40 and image[15:].mean() > 215


def test_exif_orientation_with_resize_uses_the_shown_shape() -> None:
    image = decode_image(oriented_jpeg(orientation=6), mode="L", size=(6, 2))
    assert image.shape == (6, 2)
    assert image[:3].mean() < image[3:].mean()


def test_palette_transparency_is_composited_on_white() -> None:
    rgb = decode_image(palette_alpha_png(), mode="RGB")
    assert rgb.shape == (10, 20, 3)
    assert (rgb[:, :10] == [255, 0, 0]).all()
    assert (rgb[:, 10:] == 255).all()


def test_rgba_transparency_is_composited_on_white() -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 3] = 0  # fully transparent black
    rgba[0, 0] = [0, 0, 0, 255]  # one opaque black pixel
    gray = decode_image(encode(rgba, "PNG"), mode="L")
    assert gray[0, 0] == 0 and (gray.ravel()[1:] == 255).all()


def test_animated_gif_gives_its_first_frame() -> None:
    frame = decode_image(animated_gif(), mode="L")
    assert frame.shape == (8, 8) and (frame == 0).all()


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    values = np.array([[0, 257, 32896, 65535]])
    data = sixteen_bit_png(values)
    assert probe_image(data).mode.startswith("I;16")
    assert decode_image(data, mode="L").tolist() == [[0, 1, 128, 255]]
    assert decode_image(data, mode="RGB")[0, 3].tolist() == [255, 255, 255]


@pytest.mark.parametrize("name", ["empty.png", "cut.png", "cut.jpg", "text.png"])
def test_bad_files_raise_a_reason(tmp_path: Path, name: str) -> None:
    expected = write_bad_images(tmp_path)[name]
    with pytest.raises(ImageReadError) as caught:
        decode_image(tmp_path / name)
    assert expected in caught.value.reason
    assert str(tmp_path / name) in str(caught.value)
    assert isinstance(caught.value, InputError)


def test_bad_headers_fail_the_probe_too(tmp_path: Path) -> None:
    write_bad_images(tmp_path)
    for name in ("empty.png", "text.png"):
        with pytest.raises(ImageReadError):
            probe_image(tmp_path / name)


def test_decompression_bomb_is_refused() -> None:
    data = bomb_png()
    assert len(data) < 100_000
    with pytest.raises(ImageReadError) as caught:
        decode_image(data, mode="L")
    assert caught.value.reason == (
        f"decompression bomb: 100000000 pixels exceeds the limit of {MAX_IMAGE_PIXELS}"
    )
    with pytest.raises(ImageReadError, match="decompression bomb"):
        probe_image(data)


def test_pixel_limit_can_be_lowered() -> None:
    data = encode(gradient_rgb(), "PNG")
    with pytest.raises(ImageReadError, match="600 pixels exceeds the limit of 599"):
        decode_image(data, max_pixels=599)
    assert decode_image(data, max_pixels=600).shape == (20, 30, 3)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="file not found"):
        decode_image(tmp_path / "nope.png")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageReadError, match="is a directory"):
        decode_image(tmp_path / "folder.png")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    path.write_bytes(encode(gradient_rgb(), "PNG"))
    path.chmod(0)
    with pytest.raises(ImageReadError, match="permission denied"):
        decode_image(path)


def test_image_extensions_ignore_case() -> None:
    assert has_image_extension("a/b.PNG") and has_image_extension("x.TiFf")
    assert not has_image_extension("notes.txt") and not has_image_extension("png")


def test_sha256(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_bytes(b"abc") == expected == sha256_file(tmp_path / "f")
