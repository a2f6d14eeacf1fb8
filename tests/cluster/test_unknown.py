"""Unknown means unknown: a digits model refuses photos and keeps held-out digits (real images)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixclass.cluster import discover
from pixclass.cluster.unknown import unknown_scores

CIFAR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10-train-10k"


@pytest.fixture(scope="module")
def digits_model(mnist_dir: Path) -> tuple[object, np.ndarray]:
    """A model fitted on 2,000 real MNIST digits (pixels, PCA only: seconds), and 500 others."""
    from pixclass.io import read_idx

    train = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")[:2000]
    held = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:500]
    found = discover(
        train,
        features="pixels",
        n_clusters=10,
        refine=False,
        deskew=False,
        umap_components=0,
        seed=0,
    )
    return found.model, held


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    """200 CIFAR-10 photos and skimage's sample photos, RGB at 32 px."""
    import skimage.data

    if not (CIFAR / "labels.csv").is_file():
        pytest.skip(f"no photos at {CIFAR}")
    names = [r.split(",")[0] for r in (CIFAR / "labels.csv").read_text().splitlines()[1:201]]
    out = [np.asarray(Image.open(CIFAR / "images" / n).convert("RGB")) for n in names]
    for name in ("astronaut", "chelsea", "coffee", "rocket", "camera", "moon", "coins"):
        array = np.asarray(getattr(skimage.data, name)())
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=-1)
        out.append(np.asarray(Image.fromarray(array[..., :3]).resize((32, 32))))
    return np.stack(out)


def test_digits_model_marks_photos_unknown_and_keeps_held_out_digits(digits_model, photos) -> None:
    model, held = digits_model
    photo_labels, _ = model.predict(photos)
    digit_labels, digit_conf = model.predict(held)
    assert np.mean(photo_labels < 0) >= 0.9
    assert np.mean(digit_labels < 0) <= 0.05
    assert (digit_conf[digit_labels < 0] == 0).all()


def test_the_calibrated_rule_catches_what_the_pca_distance_alone_lets_through(
    digits_model, photos
) -> None:
    """The photos that land near a digit in PCA space are far off it in the residual: without
    the calibration (the PCA-only rule the predictor falls back to) more photos get a class."""
    model, _ = digits_model
    clusterer = model.clusterer
    assert np.isfinite(clusterer.unknown_threshold_)
    features = model.extractor.transform(model.prepare(photos))
    rows = clusterer.reduction_.to_pca(features)
    pca_only, _ = clusterer.predictor_.predict(rows)
    calibrated, _ = clusterer.predict_with_confidence(features)
    assert np.mean(calibrated < 0) > np.mean(pca_only < 0)
    # agreement on the class wherever both rules give one
    both = (calibrated >= 0) & (pca_only >= 0)
    assert (calibrated[both] == pca_only[both]).all()
    # the score is the distance to the nearest training row with the PCA residual added
    dists, _ = clusterer.predictor_.nearest(rows, 1)
    scores = unknown_scores(dists[:, 0], clusterer.reduction_.residual(features))
    assert ((scores > clusterer.unknown_threshold_) == (calibrated < 0)).all()


def test_calibrating_on_held_out_digits_sets_the_share_they_are_refused_at(digits_model) -> None:
    model, held = digits_model
    clusterer = model.clusterer
    before = clusterer.unknown_threshold_
    features = model.extractor.transform(model.prepare(held))
    try:
        clusterer.calibrate_unknown(features, quantile=0.9)
        labels, _ = clusterer.predict_with_confidence(features)
        assert 0.08 <= np.mean(labels < 0) <= 0.12  # 10% by construction, ties aside
        with pytest.raises(ValueError, match="quantile"):
            clusterer.calibrate_unknown(features, quantile=1.5)
    finally:
        clusterer.unknown_threshold_ = before


def test_training_images_are_not_refused_by_their_own_model(digits_model, mnist_dir) -> None:
    from pixclass.io import read_idx

    model, _ = digits_model
    train = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")[:2000]
    labels, _ = model.predict(train)
    assert np.mean(labels < 0) <= 0.01  # each is at distance 0 from itself: residual only
