"""A classifier of a run's PCA rows trained on labels a person gave (and the confident rest).

When a run has no refinement network (photos, clustered on a pretrained network's embedding),
learning from a person's corrections trains this head on the frozen features instead: a
multinomial logistic regression on the standardised PCA rows, each row weighted (a person's
label counts several times a confident machine label). It is small, fast (70,000 rows of 50
components in seconds) and, unlike the neighbour vote, it generalises a few corrections to
the whole region of the space they stand for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pixclass.errors import InputError


@dataclass
class RowHead:
    """``predict_proba(rows)`` over ``n_classes`` columns (classes never trained on get 0)."""

    n_classes: int
    classes: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    estimator: object

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, np.float32)
        out = np.zeros((len(rows), self.n_classes), np.float32)
        if len(rows) == 0:
            return out
        z = (rows - self.mean) / self.scale
        if len(self.classes) == 1:
            out[:, int(self.classes[0])] = 1.0
            return out
        proba = self.estimator.predict_proba(z)  # type: ignore[attr-defined]
        out[:, self.classes] = proba
        return out


def fit_row_head(
    rows: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    n_classes: int,
    *,
    C: float = 1.0,
    random_state: int | None = 0,
) -> RowHead:
    """Fit a ``RowHead`` on ``rows`` with ``labels`` (0..n_classes-1) and sample ``weights``.

    ``C`` is the inverse regularisation strength; 0.1-10 works for PCA rows of most image sets.
    """
    from sklearn.linear_model import LogisticRegression

    rows = np.asarray(rows, np.float32)
    labels = np.asarray(labels, np.int64)
    if rows.ndim != 2 or len(rows) != len(labels) or len(rows) == 0:
        raise InputError("the head needs a non-empty 2-D array of rows and one label per row")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise InputError(f"labels must be in 0..{n_classes - 1}")
    mean = rows.mean(axis=0)
    scale = np.maximum(rows.std(axis=0), 1e-6)
    classes = np.unique(labels)
    estimator = LogisticRegression(C=C, max_iter=300, random_state=random_state)
    if len(classes) > 1:
        estimator.fit((rows - mean) / scale, labels, sample_weight=np.asarray(weights, float))
    return RowHead(
        int(n_classes), classes, mean.astype(np.float32), scale.astype(np.float32), estimator
    )
