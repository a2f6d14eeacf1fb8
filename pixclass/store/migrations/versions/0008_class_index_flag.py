"""The class index also holds ``set_by_person``: a class page reads only the index, and "unconfirmed
only" is a filter on it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

A class page shows, for each image, whether a person confirmed it; the class index of 0003 did
not hold that, so each image of a page was looked up in the table. Worse, a page filtered to the
unconfirmed images was read through the review index: every unconfirmed image of the whole run,
each looked up for its class, then sorted; on a 70,000-image run, 100-200 ms for any page. With
the flag as the index's last column both are a scan of the class's entries in confidence order.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_assignments_class", "assignments")
    op.create_index(
        "ix_assignments_class",
        "assignments",
        ["run_id", "cluster", "confidence", "image_id", "set_by_person"],
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_class", "assignments")
    op.create_index(
        "ix_assignments_class", "assignments", ["run_id", "cluster", "confidence", "image_id"]
    )
