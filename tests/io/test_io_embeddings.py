"""``--embeddings FILE``: precomputed vectors in .npy, .csv and .parquet files, read for real."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pixclass.errors import InputError, ModelError
from pixclass.io.embeddings import read_embeddings


@pytest.fixture(scope="module")
def digits(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The 0s and 1s among the first 200 MNIST test digits as PNGs, their labels, and vectors
    (the flattened pixels, which separate 0 from 1 well)."""
    from pixclass.io import read_idx

    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:200]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:200]
    folder = tmp_path_factory.mktemp("emb") / "images"
    folder.mkdir()
    keep = np.flatnonzero(labels <= 1)
    names = [f"{i:05d}.png" for i in keep]
    for i, name in zip(keep, names, strict=True):
        Image.fromarray(images[i]).save(folder / name)
    vectors = images[keep].reshape(len(keep), -1).astype(np.float32) / 255.0
    return {"folder": folder, "names": names, "labels": labels[keep], "vectors": vectors}


def write_csv(path: Path, names: list[str], vectors: np.ndarray) -> Path:
    frame = pd.DataFrame(vectors, columns=[f"d{i}" for i in range(vectors.shape[1])])
    frame.insert(0, "file", names)
    frame.to_csv(path, index=False)
    return path


def test_npy_rows_follow_file_order(digits, tmp_path) -> None:
    path = tmp_path / "v.npy"
    np.save(path, digits["vectors"])
    got = read_embeddings(path, digits["names"])
    np.testing.assert_array_equal(got, digits["vectors"])


def test_csv_and_parquet_match_rows_by_name_in_any_order(digits, tmp_path) -> None:
    names, vectors = digits["names"], digits["vectors"]
    order = np.random.default_rng(0).permutation(len(names))
    shuffled = [f"sub/{names[i]}" for i in order]  # base names match when unique
    csv_path = write_csv(tmp_path / "v.csv", shuffled, vectors[order])
    np.testing.assert_allclose(read_embeddings(csv_path, names), vectors, rtol=1e-6)
    # parquet with one list column
    frame = pd.DataFrame({"file": [names[i] for i in order], "vector": list(vectors[order])})
    frame.to_parquet(tmp_path / "v.parquet")
    np.testing.assert_array_equal(read_embeddings(tmp_path / "v.parquet", names), vectors)
    # parquet with a column per dimension, extra rows ignored
    wide = pd.read_csv(csv_path)
    extra = wide.iloc[:3].assign(file=["x1.png", "x2.png", "x3.png"])
    pd.concat([wide, extra]).to_parquet(tmp_path / "w.parquet")
    np.testing.assert_allclose(read_embeddings(tmp_path / "w.parquet", names), vectors, rtol=1e-6)


def test_wrong_row_count_missing_names_and_nans_are_clear_errors(digits, tmp_path) -> None:
    names, vectors = digits["names"], digits["vectors"]
    np.save(tmp_path / "short.npy", vectors[:-1])
    with pytest.raises(InputError, match=f"has {len(names) - 1} rows but the source has"):
        read_embeddings(tmp_path / "short.npy", names)
    write_csv(tmp_path / "missing.csv", names[2:], vectors[2:])
    with pytest.raises(InputError, match=f"no row for 2 of the {len(names)} images: {names[0]}"):
        read_embeddings(tmp_path / "missing.csv", names)
    broken = vectors.copy()
    broken[3, 7] = np.nan
    write_csv(tmp_path / "nan.csv", names, broken)
    with pytest.raises(InputError, match=f"NaN or infinite values in 1 row.*{names[3]}"):
        read_embeddings(tmp_path / "nan.csv", names)
    np.save(tmp_path / "nan.npy", broken)
    with pytest.raises(InputError, match="NaN"):
        read_embeddings(tmp_path / "nan.npy", names)
    write_csv(tmp_path / "twice.csv", [*names, names[0]], np.vstack([vectors, vectors[:1]]))
    with pytest.raises(InputError, match="twice"):
        read_embeddings(tmp_path / "twice.csv", names)
    (tmp_path / "v.txt").write_text("1 2 3")
    with pytest.raises(InputError, match="unknown kind"):
        read_embeddings(tmp_path / "v.txt", names)
    (tmp_path / "words.csv").write_text("file,a\n" + "".join(f"{n},x\n" for n in names))
    with pytest.raises(InputError, match="non-numeric"):
        read_embeddings(tmp_path / "words.csv", names)
    np.save(tmp_path / "flat.npy", vectors[:, 0])
    with pytest.raises(InputError, match="2-D numeric array"):
        read_embeddings(tmp_path / "flat.npy", names)


def test_discover_clusters_given_vectors_without_extracting(digits) -> None:
    from pixclass.cluster import discover
    from pixclass.evaluate import evaluate_labels
    from pixclass.io import load_images

    images = load_images(digits["folder"])
    assert images.names == digits["names"]
    found = discover(images, embeddings=digits["vectors"], n_clusters=2, seed=0)
    assert found.params["features"] == "embeddings" and found.refinement is None
    assert evaluate_labels(digits["labels"], found.labels)["acc"] > 0.9
    labels, _ = found.model.predict_vectors(digits["vectors"])
    assert (labels == found.labels).mean() > 0.95
    with pytest.raises(ModelError, match="precomputed vectors"):
        found.model.predict(images.images[:2])
    with pytest.raises(InputError, match="one row per image"):
        discover(images, embeddings=digits["vectors"][:-1])
    with pytest.raises(InputError, match="refine=True"):
        discover(images, embeddings=digits["vectors"], refine=True)


def test_cli_clusters_a_folder_on_its_embeddings_file(digits, tmp_path) -> None:
    names = digits["names"]
    path = write_csv(tmp_path / "v.csv", names, digits["vectors"])
    out = tmp_path / "a.csv"
    command = [sys.executable, "-m", "pixclass", "cluster", str(digits["folder"])]
    done = subprocess.run(
        [*command, "--embeddings", str(path), "--k", "2", "--seed", "0", "-q", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with out.open() as handle:
        fitted = {r["path"]: int(r["cluster"]) for r in csv.DictReader(handle)}
    from pixclass.evaluate import evaluate_labels

    assert evaluate_labels(digits["labels"], np.array([fitted[n] for n in names]))["acc"] > 0.9
    write_csv(tmp_path / "short.csv", names[1:], digits["vectors"][1:])
    failed = subprocess.run(
        [*command, "--embeddings", str(tmp_path / "short.csv"), "-q", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode != 0
    assert f"no row for 1 of the {len(names)} images: {names[0]}" in failed.stderr
    assert "Traceback" not in failed.stderr
