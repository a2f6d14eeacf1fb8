"""The Spark engine in local mode (local[2]) on a few hundred real PNG files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from sklearn.metrics import adjusted_rand_score

from pixclass.cli import cli
from pixclass.evaluate import cluster_accuracy
from tests.conftest import SHAPES, make_shapes

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")

from pixclass.spark.engine import cluster_with_spark, read_images  # noqa: E402
from pixclass.spark.mllib import classes_on_sample, cluster_embeddings  # noqa: E402
from pixclass.spark.session import spark_session  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]", app_name="pixclass-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def shape_folder(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """300 shape PNGs in two sub-folders, two broken files, one text file Spark must skip."""
    folder = tmp_path_factory.mktemp("shapes")
    images, truth = make_shapes(75, seed=5)
    names: dict[str, int] = {}
    for i, (image, label) in enumerate(zip(images, truth, strict=True)):
        name = f"{'ab'[i % 2]}/{SHAPES[label]}-{i:04d}.png"
        (folder / name).parent.mkdir(exist_ok=True)
        Image.fromarray(image).save(folder / name)
        names[name] = int(label)
    (folder / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    # (A zero-byte file never reaches the engine: Spark's file sources skip empty files.)
    (folder / "b" / "text.jpg").write_bytes(b"just text, named like a photo")
    (folder / "notes.txt").write_text("not an image")
    return folder, names


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_binary_file_source_keeps_image_files_only(spark, shape_folder) -> None:
    folder, names = shape_folder
    paths = [row.path for row in read_images(spark, str(folder)).select("path").collect()]
    assert len(paths) == len(names) + 2
    assert not any(p.endswith(".txt") for p in paths)


def test_cluster_with_spark_assigns_every_file_like_the_model(
    spark, shape_folder, tmp_path
) -> None:
    folder, names = shape_folder
    out = tmp_path / "assignments.csv"
    run = cluster_with_spark(
        spark, str(folder), out, features="hog", seed=0, refine=False, sample_size=200
    )
    assert run.n_images == 302 and run.n_sample <= 200 and run.n_unreadable == 2
    rows = read_csv(out)
    assert sorted(r["path"] for r in rows) == sorted(names)
    truth = np.array([names[r["path"]] for r in rows])
    labels = np.array([int(r["cluster"]) for r in rows])
    assert cluster_accuracy(truth, labels) > 0.95
    errors = read_csv(run.errors_csv)  # type: ignore[arg-type]
    assert sorted(Path(e["path"]).name for e in errors) == ["broken.png", "text.jpg"]
    assert all(e["reason"] for e in errors)
    # The executors' answer is the fitted model's answer on the same files.
    model = run.discovery.model
    some = sorted(names)[:40]
    local = np.stack([np.asarray(Image.open(folder / n).convert("L")) for n in some])
    expected, _ = model.predict(local, unknown=False)
    got = {r["path"]: int(r["cluster"]) for r in rows}
    assert [got[n] for n in some] == expected.tolist()
    parquet = spark.read.parquet(str(run.parquet))
    assert parquet.count() == 302 and parquet.filter("error is not null").count() == 2


def test_cli_engine_spark(spark, shape_folder, tmp_path) -> None:
    folder, names = shape_folder
    out = tmp_path / "cli.csv"
    result = CliRunner().invoke(
        cli,
        [
            "cluster",
            str(folder),
            "--engine",
            "spark",
            "--features",
            "hog",
            "--no-refine",
            "--seed",
            "1",
            "-q",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "every image assigned on the executors" in result.output
    assert len(read_csv(out)) == len(names)
    assert (tmp_path / "cli.parquet").is_dir()
    refused = CliRunner().invoke(cli, ["cluster", str(folder), "--engine", "spark", "-o", "-"])
    assert refused.exit_code != 0 and "--output PATH.csv" in refused.output


def test_mllib_kmeans_on_embeddings(spark, tmp_path) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (6, 32)) * 5
    truth = rng.integers(0, 6, 3000)
    rows = centres[truth] + rng.normal(0, 1, (3000, 32))
    frame = spark.createDataFrame(
        [(i, row.tolist()) for i, row in enumerate(rows)], "id long, features array<double>"
    )
    assert classes_on_sample(frame, seed=0) == 6
    for method in ("kmeans", "bisecting"):
        assigned, _ = cluster_embeddings(frame, 6, method=method, seed=0)
        found = {r.id: r.cluster for r in assigned.select("id", "cluster").collect()}
        labels = np.array([found[i] for i in range(3000)])
        assert adjusted_rand_score(truth, labels) > 0.95
    with pytest.raises(Exception, match="no column"):
        cluster_embeddings(frame, 6, column="embedding")
