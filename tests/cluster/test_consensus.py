import numpy as np
import pytest

from pixclass.cluster import ImageClusterer
from pixclass.cluster.consensus import align, central_run, modal_k, runs_for, vote
from pixclass.evaluate import cluster_accuracy


def test_align_renames_classes_to_the_reference() -> None:
    reference = np.array([0, 0, 1, 1, 2, 2])
    renamed = np.array([2, 2, 0, 0, 1, 1])
    assert np.array_equal(align(reference, renamed, 3), reference)


def test_modal_k_takes_the_commonest_and_the_smaller_on_a_tie() -> None:
    assert modal_k([10, 9, 10, 11, 10]) == 10
    assert modal_k([9, 10]) == 9


def test_runs_by_size() -> None:
    assert runs_for(1797) == 5
    assert runs_for(10_000) == 3
    assert runs_for(70_000) == 1


def test_vote_follows_the_majority_and_distrusts_disputed_rows() -> None:
    truth = np.repeat([0, 1, 2], 20)
    runs = []
    rng = np.random.default_rng(0)
    for shift in range(5):
        run = truth.copy()
        run[rng.choice(60, 6, replace=False)] = rng.integers(0, 3, 6)  # each run errs elsewhere
        runs.append((run + shift) % 3)  # and numbers its classes its own way
    confidence = [np.full(60, 0.9) for _ in runs]
    result = vote(runs, confidence, 3)
    labels, conf, agreement = result.labels, result.confidence, result.agreement
    assert cluster_accuracy(truth, labels) == 1.0
    assert all(0.85 <= share < 1 for share in result.run_agreement)  # 6 of 60 rows changed
    disputed = agreement < 1
    assert disputed.any()
    assert conf[disputed].max() < conf[~disputed].min()
    assert np.allclose(conf[~disputed], 0.9)


def test_a_vote_that_would_empty_a_class_keeps_the_central_run() -> None:
    # Class 2 of each run lands on different images, so no image has a majority for it.
    base = np.repeat([0, 1], 10)
    runs = []
    for r in range(3):
        run = base.copy()
        run[[r * 3, r * 3 + 1, 10 + r * 3]] = 2
        runs.append(run)
    labels = vote(runs, [np.ones(20)] * 3, 3).labels
    assert sorted(np.unique(labels)) == [0, 1, 2]
    assert any(np.array_equal(labels, run) for run in runs)


def test_central_run_is_the_one_most_like_the_others() -> None:
    base = np.repeat([0, 1, 2], 10)
    odd = np.roll(base, 5)
    assert central_run([odd, base, base.copy(), base.copy()]) in (1, 2, 3)


def test_estimator_votes_over_runs_on_a_small_set() -> None:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=[300, 300, 300, 300], n_features=20, random_state=0)
    est = ImageClusterer(random_state=0).fit(X.astype(np.float32))
    assert len(est.runs_) == 5  # 1,200 rows: five layouts
    assert est.n_clusters_ == 4
    assert cluster_accuracy(y, est.labels_) > 0.99
    assert est.agreement_.shape == (1200,) and est.agreement_.min() >= 0.6
    assert all(run["n_clusters"] == 4 and run["agreement"] > 0.99 for run in est.runs_)
    once = ImageClusterer(random_state=0, n_runs=1).fit(X.astype(np.float32))
    assert len(once.runs_) == 1 and np.all(once.agreement_ == 1)


@pytest.mark.parametrize("bad", [{"n_runs": 0}, {"n_neighbors": "many"}])
def test_bad_consensus_parameters(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        ImageClusterer(**bad).fit(np.random.default_rng(0).normal(size=(50, 4)))
