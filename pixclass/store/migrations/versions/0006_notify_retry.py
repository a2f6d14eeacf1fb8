"""Failed notifications are retried from their record: each send row says whether it was sent,
waits for another try (when, and until when) or failed for good, which target it went to (by a
fingerprint of its URL, never the URL) and what it said.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Types are spelled out here rather than imported from ``pixclass.store.schema``, so that this
migration keeps making the same columns when the models change later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# schema.Timestamp: integer milliseconds on SQLite, timestamptz elsewhere.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("notifications") as table:
        table.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="sent"))
        table.add_column(sa.Column("target_key", sa.String(64), nullable=True))
        table.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        table.add_column(sa.Column("next_attempt_at", TIMESTAMP, nullable=True))
        table.add_column(sa.Column("give_up_at", TIMESTAMP, nullable=True))
    notifications = sa.table("notifications", sa.column("ok", sa.Boolean()), sa.column("status"))
    op.execute(
        notifications.update().where(notifications.c.ok == sa.false()).values(status="failed")
    )
    op.create_index("ix_notifications_status", "notifications", ["status"])


def downgrade() -> None:
    op.drop_index("ix_notifications_status", table_name="notifications")
    with op.batch_alter_table("notifications") as table:
        for column in ("give_up_at", "next_attempt_at", "payload", "target_key", "status"):
            table.drop_column(column)
