"""Compare number-of-classes rules on the saved UMAP layouts of the panel sets.

Reads ``/tmp/layouts/<set>.npz`` (written by ``benchmarks/layouts.py``) and, for each rule, set
and layout, prints the number of classes the rule finds and the accuracy of k-means at that
number (labels only score). A rule is judged on all sets at once, with the issue's criterion:
found within 20% of the truth (at least 1) in at least 4 of 5 layouts, on every set.

    .venv/bin/python benchmarks/choose_k_rules.py                     # every rule, every saved set
    .venv/bin/python benchmarks/choose_k_rules.py --rules current split-all --sets digits three
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.sparse import csgraph, csr_matrix
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from pixclass.cluster.choose_k import choose_n_clusters
from pixclass.evaluate import cluster_accuracy

Rule = Callable[[np.ndarray, int], int]


def current(X: np.ndarray, seed: int) -> int:
    """``choose_n_clusters`` with its defaults: HDBSCAN groups, dip splits of groups >= 1.5x
    the median group, fragments dropped."""
    return choose_n_clusters(X, random_state=seed).n_clusters


def split_all(X: np.ndarray, seed: int) -> int:
    """Every group large enough is tested for a split, whatever its size against the median."""
    return choose_n_clusters(X, random_state=seed, split_factor=0.0).n_clusters


def small_min_size(X: np.ndarray, seed: int) -> int:
    """HDBSCAN's minimum size 1% of the set (at least 5) instead of 2% (at least 10)."""
    size = max(5, len(X) // 100)
    return choose_n_clusters(X, random_state=seed, min_cluster_size=size).n_clusters


def _subsample(X: np.ndarray, rng: np.random.Generator, size: int = 10000) -> np.ndarray:
    return X[rng.choice(len(X), size, replace=False)] if len(X) > size else X


def prediction_strength(X: np.ndarray, k: int, rng: np.random.Generator, repeats: int = 2) -> float:
    """Tibshirani & Walther (2005): how well centres fitted on one half predict the other
    half's co-memberships, for its worst cluster (min over test clusters)."""
    scores = []
    for _ in range(repeats):
        order = rng.permutation(len(X))
        train, test = X[order[: len(X) // 2]], X[order[len(X) // 2 :]]
        seed = int(rng.integers(2**31 - 1))
        fit_train = KMeans(k, n_init=2, random_state=seed).fit(train)
        fit_test = KMeans(k, n_init=2, random_state=seed + 1).fit(test)
        predicted = fit_train.predict(test)
        worst = 1.0
        for c in range(k):
            members = predicted[fit_test.labels_ == c]
            m = len(members)
            if m < 2:
                continue
            counts = np.bincount(members)
            worst = min(worst, float((counts * (counts - 1)).sum() / (m * (m - 1))))
        scores.append(worst)
    return float(np.mean(scores))


def ps_rule(threshold: float) -> Rule:
    def rule(X: np.ndarray, seed: int) -> int:
        rng = np.random.default_rng(seed)
        X = _subsample(X, rng, 4000)
        best = 1
        for k in range(2, min(50, len(X) // 10) + 1):
            if prediction_strength(X, k, rng) >= threshold:
                best = k
        return best

    rule.__doc__ = f"largest k with prediction strength >= {threshold} (k-means, halves)"
    return rule


def _knn_graph(X: np.ndarray, n_neighbors: int) -> csr_matrix:
    nn = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X)
    _, idx = nn.kneighbors(X)
    rows = np.repeat(np.arange(len(X)), n_neighbors)
    A = csr_matrix((np.ones(rows.size), (rows, idx[:, 1:].ravel())), shape=(len(X), len(X)))
    return A.maximum(A.T)


def eigengap(X: np.ndarray, seed: int, n_neighbors: int = 15, top: int = 60) -> int:
    """Largest gap among the smallest eigenvalues of the normalised Laplacian of the kNN graph."""
    rng = np.random.default_rng(seed)
    X = _subsample(X, rng, 5000)
    A = _knn_graph(X, n_neighbors)
    L = csgraph.laplacian(A, normed=True)
    n = min(top, len(X) - 2)
    # Largest eigenvalues of 2I - L are the smallest of L; Lanczos converges fast on those.
    shifted = 2.0 * _identity(len(X)) - L
    values = eigsh(shifted, k=n, which="LA", return_eigenvectors=False)
    small = np.sort(2.0 - values)
    gaps = np.diff(small[: min(51, n)])
    return int(np.argmax(gaps[1:]) + 2)


def _identity(n: int) -> csr_matrix:
    from scipy.sparse import identity

    return identity(n, format="csr")


RULES: dict[str, Rule] = {
    "current": current,
    "split-all": split_all,
    "small-min": small_min_size,
    "ps-0.8": ps_rule(0.8),
    "eigengap": eigengap,
}


def _acc(X: np.ndarray, labels: np.ndarray, k: int, cache: dict[int, float]) -> float:
    if k not in cache:
        fit = KMeans(max(k, 1), n_init=3, random_state=0).fit(X)
        cache[k] = cluster_accuracy(labels, fit.labels_)
    return cache[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/layouts"))
    parser.add_argument("--sets", nargs="*")
    parser.add_argument("--rules", nargs="*", default=list(RULES), choices=list(RULES))
    parser.add_argument("--no-acc", action="store_true")
    args = parser.parse_args()
    files = sorted(args.dir.glob("*.npz"))
    names = args.sets or [f.stem for f in files]
    print("| rule | set | true k | k per layout | within 20% | ACC (k-means at k) | s |")
    print("|---|---|---|---|---|---|---|")
    verdict: dict[str, list[bool]] = {r: [] for r in args.rules}
    for name in names:
        data = np.load(args.dir / f"{name}.npz")
        layouts, labels = data["layouts"], data["labels"]
        truth = len(np.unique(labels))
        slack = max(1, round(0.2 * truth))
        caches: list[dict[int, float]] = [{} for _ in layouts]
        for rule in args.rules:
            clock = time.perf_counter()
            ks = [RULES[rule](X, seed) for seed, X in enumerate(layouts)]
            spent = (time.perf_counter() - clock) / len(layouts)
            near = sum(abs(k - truth) <= slack for k in ks)
            ok = near >= int(np.ceil(0.8 * len(ks)))
            verdict[rule].append(ok)
            accs = (
                "-"
                if args.no_acc
                else ", ".join(
                    f"{_acc(X, labels, k, c):.2f}"
                    for X, k, c in zip(layouts, ks, caches, strict=True)
                )
            )
            print(
                f"| {rule} | {name} | {truth} | {', '.join(map(str, ks))} | "
                f"{near}/{len(ks)} {'ok' if ok else 'NO'} | {accs} | {spent:.1f} |",
                flush=True,
            )
    print()
    for rule, oks in verdict.items():
        print(f"{rule}: {sum(oks)}/{len(oks)} sets ok")


if __name__ == "__main__":
    main()
