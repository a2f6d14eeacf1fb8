"""What "unknown" means: farther from everything the model was fitted on than in-domain images are.

The score of an image is its distance to the training set in the scaled feature space, taken in
two parts that PCA keeps apart:

* ``d``: the distance in PCA space to its nearest training image (what the neighbour vote sees);
* ``r``: the PCA residual, the part of the image's features that no principal component of the
  training images explains. A photo given to a digits model has a large one: projected onto the
  digits' components it can land next to a digit while being nothing like one.

``score = sqrt(d**2 + r**2)``, an upper bound on the distance to that neighbour in the full
scaled space. The threshold is the ``quantile`` (0.99 by default) of the scores of in-domain
images held out from the index: at fit time, a random sample of up to ``CALIBRATION_ROWS``
training images, each scored against the *other* training images (leave-one-out), so about 1%
of new in-domain images come out unknown. ``ImageClusterer.calibrate_unknown`` re-calibrates on
images kept out of the fit altogether.

Measured (``benchmarks/unknown.py``, see benchmarks/RESULTS.md): the PCA distance alone at the
0.999 quantile (the rule before) let a digits model call 35% of CIFAR-10 photos digits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pixclass.cluster.predictor import NeighbourVote
    from pixclass.cluster.reduce import Reduction

# Training images scored for the threshold (a 10,000-row search takes well under a second).
CALIBRATION_ROWS = 10000


def unknown_scores(nearest_distance: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """``sqrt(d**2 + r**2)`` per image (see the module docstring)."""
    d = np.asarray(nearest_distance, np.float64)
    r = np.asarray(residual, np.float64)
    return np.sqrt(d * d + r * r)


def leave_one_out_threshold(
    X: np.ndarray,
    reduction: Reduction,
    predictor: NeighbourVote,
    quantile: float,
    random_state: int | None,
) -> float:
    """The ``quantile`` of the scores of sampled training rows against the other training rows.

    ``X`` holds the training feature rows, in the predictor's row order.
    """
    if len(X) < 3:
        return float("inf")
    rng = np.random.default_rng(random_state)
    take = np.sort(rng.choice(len(X), min(len(X), CALIBRATION_ROWS), replace=False))
    dists, _ = predictor.nearest(predictor.rows[take], 2)
    scores = unknown_scores(dists[:, 1], reduction.residual(X[take]))
    return float(np.quantile(scores, quantile))


def held_out_threshold(
    X: np.ndarray, reduction: Reduction, predictor: NeighbourVote, quantile: float
) -> float:
    """The ``quantile`` of the scores of in-domain rows ``X`` that were not fitted on."""
    rows = reduction.to_pca(X)
    dists, _ = predictor.nearest(rows, 1)
    return float(np.quantile(unknown_scores(dists[:, 0], reduction.residual(X)), quantile))
