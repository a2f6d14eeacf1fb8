import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.utils.estimator_checks import parametrize_with_checks

from pixclass.cluster import ImageClusterer
from pixclass.cluster.choose_k import choose_n_clusters
from pixclass.evaluate import cluster_accuracy


@parametrize_with_checks([ImageClusterer(random_state=0)])
def test_sklearn_contract(estimator, check) -> None:
    check(estimator)


def test_get_params_round_trip() -> None:
    est = ImageClusterer(n_clusters=7, method="kmeans", random_state=3)
    assert ImageClusterer(**est.get_params()).get_params() == est.get_params()


@pytest.mark.parametrize(
    "bad", [{"n_clusters": 0}, {"method": "magic"}, {"scale": "huge"}, {"n_epochs": 0}]
)
def test_bad_parameters_are_clear_errors(bad: dict) -> None:
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ValueError, match=next(iter(bad))):
        ImageClusterer(**bad).fit(X)


def blobs(sizes: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=sizes, n_features=20, cluster_std=1.0, random_state=seed)
    return X.astype(np.float32), y


def test_choose_k_finds_separated_groups_of_unequal_size() -> None:
    X, _ = blobs([400, 300, 200, 180, 600, 350])
    choice = choose_n_clusters(X, random_state=0)
    assert choice.n_clusters == 6
    assert choice.centers.shape == (6, 20)


def test_a_group_far_smaller_than_the_rest_is_a_fragment_unless_told_otherwise() -> None:
    # 100 against a median of 400: dropped by default, kept with fragment_factor=0.
    X, _ = blobs([400, 400, 400, 100, 400])
    assert choose_n_clusters(X, random_state=0).n_clusters == 4
    assert choose_n_clusters(X, random_state=0, fragment_factor=0).n_clusters == 5


def test_choose_k_splits_two_touching_groups_that_density_merges() -> None:
    rng = np.random.default_rng(1)
    # Two classes side by side with no empty space between them: one density group, two modes.
    left = rng.normal([0, 0], 0.6, size=(800, 2))
    right = rng.normal([2.0, 0], 0.6, size=(800, 2))
    others = [rng.normal(c, 0.6, size=(800, 2)) for c in ([20, 20], [-20, 20], [20, -20])]
    X = np.vstack([left, right, *others])
    choice = choose_n_clusters(X, random_state=0)
    assert choice.density_groups == 4
    assert choice.n_clusters == 5


def test_choose_k_keeps_one_elongated_class_whole() -> None:
    rng = np.random.default_rng(2)
    long = rng.normal(0, 1, size=(1500, 2)) * [6.0, 0.5]
    other = rng.normal([0, 10], 0.5, size=(1500, 2))
    assert choose_n_clusters(np.vstack([long, other]), random_state=0).n_clusters == 2


@pytest.mark.parametrize("method", ["gmm", "kmeans", "agglomerative"])
def test_methods_with_k_given(method: str) -> None:
    X, y = blobs([150, 150, 150])
    est = ImageClusterer(n_clusters=3, method=method, random_state=0).fit(X)
    assert est.n_clusters_ == 3
    assert cluster_accuracy(y, est.labels_) > 0.95
    assert est.confidence_.min() >= 0 and est.confidence_.max() <= 1


def test_hdbscan_finds_its_own_k_and_may_mark_noise() -> None:
    X, y = blobs([200, 200, 200])
    est = ImageClusterer(method="hdbscan", random_state=0).fit(X)
    assert est.n_clusters_ == 3
    assert cluster_accuracy(y, est.labels_) > 0.9


def test_labels_are_numbered_largest_first() -> None:
    X, _ = blobs([100, 300, 200])
    est = ImageClusterer(n_clusters=3, random_state=0).fit(X)
    sizes = np.bincount(est.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_predict_reproduces_training_labels_and_flags_outliers() -> None:
    X, _ = blobs([200, 200, 200])
    est = ImageClusterer(random_state=0).fit(X)
    labels, confidence = est.predict_with_confidence(X)
    assert (labels == est.labels_).mean() > 0.99
    far = np.full((3, X.shape[1]), 500.0, dtype=np.float32)
    far_labels, far_conf = est.predict_with_confidence(far)
    assert list(far_labels) == [-1, -1, -1]
    assert list(far_conf) == [0, 0, 0]


def test_predict_before_fit_is_an_error() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ImageClusterer().predict(np.zeros((2, 3)))


def test_exact_neighbours_put_each_row_first_even_among_twins() -> None:
    from pixclass.cluster.reduce import exact_neighbours

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(300, 8)).astype(np.float32)
    rows[10:20] = rows[10]  # ten identical images
    indices, distances = exact_neighbours(rows, 5)
    assert indices.shape == distances.shape == (300, 5)
    assert np.array_equal(indices[:, 0], np.arange(300))
    assert np.all(distances[:, 0] == 0)
    assert np.all(np.diff(distances, axis=1) >= -1e-5)
    # A twin's other neighbours are its twins, at distance 0.
    assert set(indices[15, 1:]) <= set(range(10, 20)) and np.all(distances[15] < 1e-3)
    far = np.linalg.norm(rows[:, None] - rows[None], axis=2)
    expected = np.sort(far[50])[:5]
    assert np.allclose(distances[50], expected, atol=1e-4)
