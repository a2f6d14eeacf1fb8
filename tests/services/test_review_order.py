"""The review queue's teaching order on made-up groups: one image per group before a second from
any, the most uncertain of the largest uncertain groups first."""

from __future__ import annotations

import numpy as np

from pixclass.services.review import _order


def test_one_per_group_first_largest_most_uncertain_first() -> None:
    groups = np.array([0, 0, 0, 0, 1, 1, 2])
    confidence = np.array([0.5, 0.2, 0.3, 0.4, 0.1, 0.6, 0.05], np.float32)
    order = _order(confidence, groups)
    # Round 1: group 0 (4 images, best 0.2: 0.8 x 4 = 3.2), group 1 (0.9 x 2), group 2 (0.95 x 1).
    assert order[:3] == [1, 4, 6]
    # Round 2: the second most uncertain of groups 0 and 1; then group 0's last two.
    assert order[3:5] == [2, 5]
    assert order[5:] == [3, 0]
    assert sorted(order) == list(range(7))


def test_near_copies_do_not_fill_the_first_page() -> None:
    rng = np.random.default_rng(0)
    groups = np.concatenate([np.zeros(50, np.int64), np.arange(1, 11)])  # 50 near-copies
    confidence = np.concatenate([np.full(50, 0.1), rng.uniform(0.3, 0.5, 10)]).astype(np.float32)
    first = _order(confidence, groups)[:11]
    assert sum(groups[n] == 0 for n in first) == 1  # least-confident-first would give 11
