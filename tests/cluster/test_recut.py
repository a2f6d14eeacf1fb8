"""Re-cutting a fitted run into another number of classes, on real digit images."""

import numpy as np
import pytest

from pixclass.cluster import discover
from pixclass.cluster.recut import plausible_counts, recut
from pixclass.errors import InputError
from pixclass.evaluate import cluster_accuracy
from pixclass.io import load_dataset


@pytest.fixture(scope="module")
def digits_run():
    digits = load_dataset("digits")
    return digits, discover(digits, n_clusters=5, seed=0, refine=False)


def test_a_coarse_run_recut_to_the_true_count_finds_the_digits(digits_run) -> None:
    digits, coarse = digits_run
    assert coarse.n_clusters == 5
    fine = recut(coarse.model, 10, random_state=0)
    labels = fine.clusterer.labels_
    assert fine.n_clusters == 10 and len(labels) == len(digits.labels)
    # Classes are numbered from the largest down, as a fitted run's are.
    sizes = np.bincount(labels)
    assert list(sizes) == sorted(sizes, reverse=True)
    assert cluster_accuracy(digits.labels, labels) > 0.85
    assert cluster_accuracy(digits.labels, coarse.labels) < 0.6
    # The model of the re-cut classifies images into the new classes.
    predicted, confidence = fine.predict(digits.images[:300])
    assert (predicted == labels[:300]).mean() > 0.95
    assert np.all((confidence >= 0) & (confidence <= 1))
    # The original run is left as it was.
    assert coarse.model.n_clusters == 5


@pytest.mark.parametrize("bad", [0, -3, "ten", 2.5, True, 100000])
def test_a_bad_k_is_refused_with_what_is_accepted(digits_run, bad) -> None:
    _, run = digits_run
    with pytest.raises(InputError, match="k must"):
        recut(run.model, bad)


def test_plausible_counts_name_other_counts_than_the_chosen_one() -> None:
    digits = load_dataset("digits")
    run = discover(digits, seed=0, refine=False)
    others = plausible_counts(run.model.clusterer)
    # The 1s form two islands: 11 density groups, the smaller island dropped as a fragment.
    assert run.n_clusters == 10
    assert others == [11]


def test_the_counts_line_and_the_fewer_more_buttons() -> None:
    from pixclass.cluster.recut import counts_text, neighbour_counts

    assert counts_text(10, []) == "10 classes"
    assert counts_text(10, [11]) == "10 classes; 11 also fits"
    assert counts_text(10, [6, 8, 14]) == "10 classes; 6, 8 and 14 also fit"
    # The nearest plausible count on each side, else one fewer or one more.
    assert neighbour_counts(10, [6, 8, 14], most=500) == (8, 14)
    assert neighbour_counts(10, [], most=500) == (9, 11)
    assert neighbour_counts(1, [], most=500) == (None, 2)
    assert neighbour_counts(5, [7], most=5) == (4, None)  # never more classes than images
