"""Drop the ``features`` table: embeddings are cached by content on disk
(``pixclass.features.cache``), and nothing ever read or wrote this table but its own test.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("features")


def downgrade() -> None:
    op.create_table(
        "features",
        sa.Column("image_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("extractor", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_features_image_id_images", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("image_id", "extractor", name="pk_features"),
    )
