"""The command line as a user runs it: real files, a real subprocess, the output files read back."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pixclass.cli import cli

CORRUPT = {
    "empty.png": b"",
    "text.png": b"this is not an image at all",
    "truncated.png": None,  # filled in from a real PNG below
}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pixclass", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory, mnist_dir) -> Path:
    """600 real MNIST digits as PNG files plus labels.csv, and three broken files mixed in."""
    root = tmp_path_factory.mktemp("mnistpng")
    done = run("datasets", "export", str(mnist_dir), str(root), "--limit", "600")
    assert done.returncode == 0, done.stderr
    images = root / "images"
    good = sorted(images.glob("*.png"))
    assert len(good) == 600
    (images / "empty.png").write_bytes(b"")
    (images / "text.png").write_bytes(b"this is not an image at all")
    (images / "truncated.png").write_bytes(good[0].read_bytes()[:60])
    return root


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_cluster_folder_lists_every_good_file_and_reports_bad_ones(png_folder, tmp_path) -> None:
    out = tmp_path / "assignments.csv"
    model = tmp_path / "digits.model"
    done = run(
        "cluster",
        str(png_folder / "images"),
        "--seed",
        "0",
        "-o",
        str(out),
        "--model-out",
        str(model),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert list(rows[0]) == ["path", "cluster", "confidence"]
    names = {r["path"] for r in rows}
    assert len(rows) == 600 and len(names) == 600
    assert not names & {"empty.png", "text.png", "truncated.png"}
    assert all(0 <= float(r["confidence"]) <= 1 for r in rows)
    errors = read_rows(tmp_path / "assignments.errors.csv")
    assert {e["path"] for e in errors} == {"empty.png", "text.png", "truncated.png"}
    assert all(e["reason"] for e in errors)
    assert "empty.png" in done.stderr and "classes found" in done.stderr
    assert "consensus of 5 runs: they agree on" in done.stderr  # 600 images: a small set
    assert model.exists()

    scored = run("evaluate", str(out), "--labels", str(png_folder / "labels.csv"))
    assert scored.returncode == 0, scored.stderr
    acc = float(scored.stdout.split("ACC")[1].split()[0])
    assert acc > 0.5  # 600 digits are few for discovery; the benchmark measures the real figure

    predicted = run(
        "predict",
        str(model),
        *(str(p) for p in sorted((png_folder / "images").glob("0000*.png"))),
        str(png_folder / "images" / "text.png"),
    )
    assert predicted.returncode == 0, predicted.stderr
    assert "0000" in predicted.stdout
    assert "text.png" in predicted.stderr


def test_labeled_folder_prints_scores(png_folder, tmp_path) -> None:
    done = run(
        "cluster", str(png_folder), "--k", "10", "--seed", "0", "-o", str(tmp_path / "a.csv"), "-q"
    )
    assert done.returncode == 0, done.stderr
    assert "ACC" in done.stderr and "NMI" in done.stderr


def test_dataset_source_names_rows_by_index(tmp_path) -> None:
    out = tmp_path / "digits.csv"
    done = run("cluster", "digits", "--seed", "0", "-o", str(out), "-q")
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert len(rows) == 1797
    assert rows[0]["path"] == "digits:0" and rows[-1]["path"] == "digits:1796"
    scored = run("evaluate", str(out), "--dataset", "digits")
    assert scored.returncode == 0, scored.stderr
    assert float(scored.stdout.split("ACC")[1].split()[0]) > 0.85


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cluster", "/no/such/folder"], "no such file or directory"),
        (["cluster", "digits", "--k", "zero"], "n_clusters must be 'auto' or a whole number"),
        (["cluster", "digits", "--features", "nope"], "unknown feature extractor"),
        (["predict", "/no/model", "x.png"], "no model file"),
        (["evaluate", "/no/file.csv", "--dataset", "digits"], "no such file"),
        (["evaluate", "x.csv"], "exactly one of --labels"),
    ],
)
def test_user_errors_are_one_clear_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_every_command_has_help() -> None:
    runner = CliRunner()
    groups = [[]]
    seen = 0
    while groups:
        prefix = groups.pop()
        result = runner.invoke(cli, [*prefix, "--help"])
        assert result.exit_code == 0, (prefix, result.output)
        seen += 1
        command = cli
        for name in prefix:
            command = command.commands[name]  # type: ignore[attr-defined]
        for name in getattr(command, "commands", {}):
            groups.append([*prefix, name])
    assert seen >= 10


def test_demo_falls_back_to_digits_when_mnist_is_missing(tmp_path, monkeypatch) -> None:
    import pixclass.demo as demo

    monkeypatch.setattr(demo, "find_mnist", lambda settings: None)
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "data"), "demo", "--no-download", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "bundled digits" in result.output
    assert "ACC" in result.output
    montages = sorted(out.glob("class-*.png"))
    assert len(montages) >= 9
    from PIL import Image

    assert Image.open(montages[0]).size[0] == 8 * 48
    assert len(read_rows(out / "assignments.csv")) == 1797


def test_counts_line_names_the_other_plausible_counts() -> None:
    from types import SimpleNamespace

    import numpy as np

    from pixclass.cli.cluster import counts_line
    from pixclass.cluster.choose_k import KChoice

    # 9 density groups, one split (10), runs that found 10, 10 and 14.
    choice = KChoice(
        n_clusters=10,
        centers=np.zeros((10, 2)),
        density_groups=9,
        splits=[{"size": 900.0, "pvalue": 1e-6, "split": 1.0}],
    )
    runs = [{"n_clusters": k, "agreement": 1.0} for k in (10, 10, 14)]
    fitted = SimpleNamespace(n_clusters_=10, k_choice_=choice, runs_=runs)
    assert counts_line(10, fitted) == "10 classes; 9 and 14 also fit"
    alone = SimpleNamespace(n_clusters_=10, k_choice_=None, runs_=[runs[0]])
    assert counts_line(10, alone) == "10 classes"
    one = SimpleNamespace(n_clusters_=10, k_choice_=None, runs_=runs)
    assert counts_line(10, one) == "10 classes; 14 also fits"
