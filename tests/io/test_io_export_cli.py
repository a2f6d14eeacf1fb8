"""Exporting to images/ + labels.csv and loading back; ``pixclass datasets`` end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from pixclass.errors import InputError
from pixclass.io import ImageSet, export_dataset, load_digits_set, load_source


def test_export_and_load_back_are_equal(tmp_path: Path) -> None:
    digits = load_digits_set()
    calls: list[tuple[str, int, int]] = []
    export_dataset(digits, tmp_path, progress=lambda *call: calls.append(call))
    assert calls[-1] == ("export", 1797, 1797)
    files = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert files[0] == "00000.png" and files[-1] == "01796.png" and len(files) == 1797
    assert (tmp_path / "labels.csv").read_text().splitlines()[:2] == [
        "file,label",
        f"00000.png,{digits.class_names[digits.labels[0]]}",  # type: ignore[index]
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "labels.csv"]

    back = load_source(tmp_path)
    assert np.array_equal(back.images, digits.images)
    assert np.array_equal(back.labels, digits.labels)  # type: ignore[arg-type]
    assert back.class_names == digits.class_names


def test_export_rgb_without_labels_and_class_names(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (3, 5, 6, 3), dtype=np.uint8)
    export_dataset(ImageSet(images=rgb, names=["a", "b", "c"]), tmp_path / "nolabels")
    assert (tmp_path / "nolabels/labels.csv").read_text().splitlines()[1] == "00000.png,"
    back = load_source(tmp_path / "nolabels")
    assert np.array_equal(back.images, rgb) and back.labels.tolist() == [-1, -1, -1]  # type: ignore[union-attr]

    numbered = ImageSet(images=rgb[..., 0], names=["a", "b", "c"], labels=np.array([2, 0, 2]))
    export_dataset(numbered, tmp_path / "numbers")
    assert (tmp_path / "numbers/labels.csv").read_text().splitlines()[1:] == [
        "00000.png,2",
        "00001.png,0",
        "00002.png,2",
    ]


def test_export_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    first = ImageSet(images=np.zeros((3, 2, 2), np.uint8), names=["a", "b", "c"])
    second = ImageSet(images=np.full((1, 2, 2), 9, np.uint8), names=["z"])
    export_dataset(first, tmp_path)
    with pytest.raises(InputError, match="already holds files; choose an empty folder"):
        export_dataset(second, tmp_path)
    export_dataset(second, tmp_path, overwrite=True)
    assert [p.name for p in (tmp_path / "images").iterdir()] == ["00000.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "labels.csv"]


def test_cli_export_digits(cli: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    dest = tmp_path / "out"
    args = ["--data-dir", str(tmp_path / "data"), "datasets", "export", "digits", str(dest)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "exported 1,797 images (10 classes) of digits" in result.output
    assert len(list((dest / "images").iterdir())) == 1797
    assert np.array_equal(load_source(dest).images, load_digits_set().images)

    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "already holds files" in again.output
    limited = runner.invoke(cli, [*args, "--overwrite", "--limit", "10"])
    assert limited.exit_code == 0, limited.output
    assert len(list((dest / "images").iterdir())) == 10


def test_cli_errors_are_one_line(cli: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["datasets", "export", "cifar", str(tmp_path)])
    assert result.exit_code == 1 and "error: unknown dataset 'cifar'" in result.output
    offline = runner.invoke(
        cli,
        [
            "datasets",
            "download",
            "mnist",
            "--dest",
            str(tmp_path),
            "--base-url",
            "http://127.0.0.1:9/",
        ],
    )
    assert offline.exit_code == 1 and "may be offline" in offline.output
    assert "Traceback" not in result.output + offline.output


def test_cli_list_and_help(cli: Any, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["--data-dir", str(tmp_path), "datasets", "list"])
    assert listed.exit_code == 0
    assert "digits" in listed.output and "bundled with scikit-learn" in listed.output
    assert "fashion-mnist" in listed.output and "mnist" in listed.output
    for command in ([], ["export"], ["download"], ["list"]):
        shown = runner.invoke(cli, ["datasets", *command, "--help"])
        assert shown.exit_code == 0 and "Usage:" in shown.output


def test_real_subprocess_export(cli: Any, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pixclass", "--data-dir", str(tmp_path / "data")]
    command += ["datasets", "export", "digits", str(tmp_path / "out"), "--limit", "25"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "exported 25 images" in done.stderr
    back = load_source(tmp_path / "out")
    assert np.array_equal(back.images, load_digits_set().images[:25])
