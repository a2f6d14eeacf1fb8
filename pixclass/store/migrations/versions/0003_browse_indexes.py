"""Indexes for browsing a run's classes: a class's images by confidence, the review queue.

Revision ID: 0003
Revises: 0002
Create Date: 2026-05-03

Without them, showing a class of a 70,000-image run sorts the whole run: the gallery's most
confident images per class, a class page's next 120 images, and the least confident unreviewed
images each read every assignment of the run. With them each is a short index range scan. They
cost about 2 MB per 70,000 assignments each.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_assignments_class", "assignments", ["run_id", "cluster", "confidence", "image_id"]
    )
    op.create_index(
        "ix_assignments_review",
        "assignments",
        ["run_id", "set_by_person", "confidence", "image_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_review", "assignments")
    op.drop_index("ix_assignments_class", "assignments")
