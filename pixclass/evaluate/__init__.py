"""Pure metric functions: external scores against known labels, internal scores without them.

Labels are only ever used here, to measure; the pipeline never sees them.
"""

from __future__ import annotations

from pixclass.evaluate.external import (
    adjusted_rand,
    cluster_accuracy,
    confusion_matrix,
    evaluate_labels,
    matched_labels,
    normalized_mutual_info,
)
from pixclass.evaluate.internal import internal_scores

__all__ = [
    "adjusted_rand",
    "cluster_accuracy",
    "confusion_matrix",
    "evaluate_labels",
    "internal_scores",
    "matched_labels",
    "normalized_mutual_info",
]
