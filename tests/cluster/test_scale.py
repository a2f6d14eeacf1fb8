"""Big-collection building blocks: fit on a sample and apply to all, faiss indexes and k-means."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from pixclass.cluster import ImageClusterer, discover
from pixclass.cluster import index as index_module
from pixclass.cluster.index import exact_index, ivf_index, kmeans, search_in_blocks, wants_ivf
from pixclass.cluster.predictor import NeighbourVote
from pixclass.cluster.sample import fit_on_sample
from pixclass.errors import InputError
from pixclass.evaluate import cluster_accuracy


def blobs(n: int, k: int = 8, d: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows around ``k`` well-separated centres, with their true groups."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (k, d)) * 4.0
    truth = rng.integers(0, k, n)
    return (centres[truth] + rng.normal(0, 1, (n, d))).astype(np.float32), truth


def test_fit_on_sample_labels_every_row_and_keeps_the_sample_s_labels() -> None:
    X, truth = blobs(6000)
    seen: list[int] = []

    def rows_of(indices: np.ndarray) -> np.ndarray:
        seen.append(len(indices))
        return X[indices]

    estimator = ImageClusterer(random_state=0, n_runs=1)
    fitted = fit_on_sample(estimator, rows_of, len(X), sample_size=1500, batch_size=2000)
    assert len(fitted.sample) == 1500 and len(np.unique(fitted.sample)) == 1500
    # the fit saw the sample, then the rows came in batches no larger than asked
    assert seen[0] == 1500 and max(seen[1:]) <= 2000 and sum(seen[1:]) == len(X)
    assert estimator.labels_.shape == (len(X),) and estimator.confidence_.shape == (len(X),)
    assert estimator.n_clusters_ == 8
    assert adjusted_rand_score(truth, estimator.labels_) > 0.98
    assert (estimator.labels_ >= 0).all()
    # the predictor now votes among every row, so a row predicts its own class
    assert len(estimator.predictor_.rows) == len(X)
    assert (estimator.predict(X[:500]) == estimator.labels_[:500]).mean() > 0.99
    assert "6,000" in fitted.describe() and "1,500" in fitted.describe()


def test_discover_fits_on_a_sample_and_says_so(shapes) -> None:
    images, truth = shapes
    result = discover(images, features="hog", seed=0, sample=len(images) // 2, map_2d=True)
    assert result.labels.shape == (len(images),)
    assert "random sample of" in result.params["sample"]
    assert "apply" in result.timings
    assert cluster_accuracy(truth, result.labels) > 0.95
    assert result.embedding_2d is not None and result.embedding_2d.shape == (len(images), 2)
    whole = discover(images, features="hog", seed=0, sample=False)
    assert whole.params["sample"] is None


@pytest.mark.parametrize("bad", ["some", 1, -5])
def test_bad_sample_is_a_clear_error(shapes, bad: object) -> None:
    with pytest.raises(InputError, match="sample must be"):
        discover(shapes[0], features="hog", sample=bad)  # type: ignore[arg-type]


def test_ivf_index_finds_nearly_every_exact_neighbour() -> None:
    X, _ = blobs(40000, k=20, d=32, seed=1)
    queries = X[:2000] + np.random.default_rng(2).normal(0, 0.1, (2000, 32)).astype(np.float32)
    _, exact = search_in_blocks(exact_index(X), queries, 10)
    _, approx = search_in_blocks(ivf_index(X, random_state=0), queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall > 0.95
    assert (approx[:, 0] == exact[:, 0]).mean() > 0.98


def test_the_index_goes_approximate_only_for_big_searches() -> None:
    assert not wants_ivf(70000, 10000)
    assert wants_ivf(index_module.EXACT_ROWS + 1, 1)
    assert wants_ivf(30000, 1_000_000)
    assert not wants_ivf(5000, 10_000_000)


def test_neighbour_vote_on_the_approximate_index_agrees_with_exact(monkeypatch) -> None:
    X, truth = blobs(30000, k=10, d=16, seed=3)
    confidence = np.ones(len(X), np.float32)
    exact = NeighbourVote(X, truth, confidence, random_state=0)
    exact_labels, _ = exact.predict(X[:3000])
    monkeypatch.setattr(index_module, "EXACT_ROWS", 1000)
    approx = NeighbourVote(X, truth, confidence, random_state=0)
    approx_labels, approx_conf = approx.predict(X[:3000])
    assert approx._ivf is not None and approx._index is None
    assert (approx_labels == exact_labels).mean() > 0.99
    assert np.all((approx_conf >= 0) & (approx_conf <= 1))
    # far from everything is still unknown
    far, _ = approx.predict(np.full((3, 16), 1e3, np.float32))
    assert (far == -1).all()


def test_faiss_kmeans_recovers_the_blobs() -> None:
    X, truth = blobs(20000, k=12, d=128, seed=4)
    centres, labels = kmeans(X, 12, n_init=3, seed=0)
    assert centres.shape == (12, 128) and labels.shape == (len(X),)
    assert adjusted_rand_score(truth, labels) > 0.95


def test_the_neighbour_graph_of_a_big_set_is_nearly_exact_with_each_row_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pixclass.cluster import reduce

    X, _ = blobs(20000, k=10, d=32, seed=4)
    X[1] = X[0]  # twins: each must still come first in its own row
    exact_idx, _ = reduce.neighbour_graph(X, 10, random_state=0)
    monkeypatch.setattr(reduce, "APPROX_KNN_ABOVE", 5000)
    approx_idx, approx_dist = reduce.neighbour_graph(X, 10, random_state=0)
    assert (approx_idx[:, 0] == np.arange(len(X))).all() and (approx_dist[:, 0] == 0).all()
    assert (approx_idx >= 0).all() and np.isfinite(approx_dist).all()
    recall = np.mean(
        [len(set(a) & set(e)) / 10 for a, e in zip(approx_idx, exact_idx, strict=True)]
    )
    assert recall > 0.95


def test_refinement_neighbours_after_a_sample_fit_cover_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pixclass.cluster import reduce
    from pixclass.cluster.discover import _neighbours

    discover_module = __import__("sys").modules["pixclass.cluster.discover"]
    X, _ = blobs(6000, k=8, d=32, seed=2)
    estimator = ImageClusterer(random_state=0, umap_components=0)  # no UMAP graph at all
    fit_on_sample(estimator, lambda rows: X[rows], len(X), sample_size=1500)
    exact = estimator.predictor_.training_neighbours(30)
    # As after a sample fit, no UMAP graph covers every row; above the size the graph over
    # every row comes from the inverted-file index.
    monkeypatch.setattr(reduce, "APPROX_KNN_ABOVE", 1000)
    monkeypatch.setattr(discover_module, "APPROX_KNN_ABOVE", 1000)
    found = _neighbours(estimator)
    assert found.shape == (len(X), 30)
    assert not (found == np.arange(len(X))[:, None]).any()
    recall = np.mean([len(set(a) & set(e)) / 30 for a, e in zip(found, exact, strict=True)])
    assert recall > 0.9


def test_a_big_set_is_refined_with_its_own_view_where_the_network_is_sure(
    shapes, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    discover_module = __import__("sys").modules["pixclass.cluster.discover"]
    images, _ = shapes
    monkeypatch.setattr(discover_module, "SAMPLE_ABOVE", len(images) - 1)
    # Without UMAP (umap_components=0) the first clustering takes a moment; the refinement is
    # what this is about.
    big = discover(images, features="hog", seed=0, refine=True, sample=False, umap_components=0)
    assert big.model.refiner is not None
    assert big.model.refiner.sure == discover_module.BIG_SET_SURE
