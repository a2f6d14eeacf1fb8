"""The SCAN clustering head on real data: scikit-learn's 1,797 handwritten digits."""

from __future__ import annotations

import numpy as np
import pytest

from pixclass.errors import InputError

pytestmark = pytest.mark.torch
pytest.importorskip("torch")

from pixclass.cluster.head import fit_scan_head, nearest_neighbors  # noqa: E402
from pixclass.evaluate import cluster_accuracy  # noqa: E402


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digit pixels, the same digits shifted one pixel right (a second view), and labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = data.images.astype(np.float32)
    shifted = np.zeros_like(images)
    shifted[:, :, 1:] = images[:, :, :-1]
    return images.reshape(len(images), -1), shifted.reshape(len(images), -1), data.target


def test_neighbours_are_the_most_similar_other_rows(digits: tuple) -> None:  # type: ignore[type-arg]
    X, _, labels = digits
    found = nearest_neighbors(X, 5, chunk=500)
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    expected = np.argsort(-similarity, axis=1)[:, :5]
    assert (found != np.arange(len(X))[:, None]).all()
    np.testing.assert_allclose(
        np.take_along_axis(similarity, found, 1), np.take_along_axis(similarity, expected, 1)
    )
    assert (labels[found] == labels[:, None]).mean() > 0.95


def test_the_head_finds_the_ten_digits(digits: tuple) -> None:  # type: ignore[type-arg]
    X, shifted, labels = digits
    result = fit_scan_head(X, 10, views=[shifted], random_state=0)
    assert result.proba.shape == (len(X), 10)
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(result.labels, result.proba.argmax(axis=1))
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=10, n_init=10, random_state=0).fit_predict(X)
    # Neighbour agreement must beat k-means on the same pixels (which these digits fool often).
    accuracy = cluster_accuracy(labels, result.labels)
    assert accuracy > 0.8 and accuracy > cluster_accuracy(labels, kmeans)
    assert len(np.unique(result.labels)) == 10


def test_the_same_seed_gives_the_same_labels(digits: tuple) -> None:  # type: ignore[type-arg]
    X, _, _ = digits
    first = fit_scan_head(X[:600], 10, epochs=5, self_label_epochs=2, random_state=3)
    again = fit_scan_head(X[:600], 10, epochs=5, self_label_epochs=2, random_state=3)
    np.testing.assert_array_equal(first.labels, again.labels)


@pytest.mark.parametrize(
    ("rows", "k", "views", "match"),
    [
        (np.zeros((4, 3), np.float32), 2, None, "more than 5 rows"),
        (np.zeros((50, 3), np.float32), 1, None, "n_clusters >= 2"),
        (np.zeros((50, 3), np.float32), 2, [np.zeros((50, 4), np.float32)], "shape of X"),
    ],
)
def test_bad_input_is_refused(rows: np.ndarray, k: int, views: list | None, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError, match=match):
        fit_scan_head(rows, k, views=views)
