import numpy as np
import pytest

from pixclass.evaluate import (
    adjusted_rand,
    cluster_accuracy,
    confusion_matrix,
    evaluate_labels,
    internal_scores,
    matched_labels,
    normalized_mutual_info,
)


def test_accuracy_is_invariant_to_renaming_clusters() -> None:
    truth = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([5, 5, 3, 3, 9, 9])
    assert cluster_accuracy(truth, pred) == 1.0
    assert matched_labels(truth, pred) == {3: 1, 5: 0, 9: 2}


def test_accuracy_counts_one_mistake() -> None:
    truth = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([1, 1, 0, 0, 0, 0])
    # best matching: 1->0 (2 right), 0->1 (3 right)
    assert cluster_accuracy(truth, pred) == pytest.approx(5 / 6)


def test_accuracy_with_more_clusters_than_classes() -> None:
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    split = np.array([0, 0, 1, 1, 2, 2, 2, 2])  # class 0 split in two
    # one-to-one matching: only one half of class 0 can be matched
    assert cluster_accuracy(truth, split) == pytest.approx(6 / 8)


def test_accuracy_with_fewer_clusters_than_classes() -> None:
    truth = np.array([0, 0, 1, 1, 2, 2])
    merged = np.array([0, 0, 0, 0, 1, 1])
    assert cluster_accuracy(truth, merged) == pytest.approx(4 / 6)


def test_noise_label_is_its_own_cluster() -> None:
    truth = np.array([0, 0, 1, 1])
    pred = np.array([0, -1, 1, 1])
    assert cluster_accuracy(truth, pred) == pytest.approx(3 / 4)


def test_string_labels_work() -> None:
    truth = np.array(["cat", "cat", "dog", "dog"])
    assert cluster_accuracy(truth, [1, 1, 0, 0]) == 1.0


def test_length_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="same images"):
        confusion_matrix([0, 1], [0, 1, 2])


def test_nmi_and_ari_bounds() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, 2000)
    assert normalized_mutual_info(truth, truth) == pytest.approx(1.0)
    assert adjusted_rand(truth, truth) == pytest.approx(1.0)
    shuffled = rng.permutation(truth)
    assert abs(adjusted_rand(truth, shuffled)) < 0.02
    assert normalized_mutual_info(truth, shuffled) < 0.02


def test_evaluate_labels_reports_counts() -> None:
    scores = evaluate_labels([0, 0, 1, 1], [1, 1, 0, 2])
    assert scores["n_clusters"] == 3
    assert scores["n_classes"] == 2
    assert 0 < scores["acc"] < 1


def test_internal_scores_prefer_the_true_partition() -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, size=(100, 2)) for c in (0, 5, 10)])
    good = np.repeat([0, 1, 2], 100)
    bad = rng.integers(0, 3, 300)
    assert internal_scores(X, good)["silhouette"] > internal_scores(X, bad)["silhouette"]
    assert np.isnan(internal_scores(X, np.zeros(300, int))["silhouette"])
