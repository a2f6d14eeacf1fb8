"""The initial schema: collections, images and their bytes, thumbnails, features, runs.

Revision ID: 0001
Revises:
Create Date: 2025-11-25

Types are spelled out here rather than imported from ``pixclass.store.schema``, so that this
migration keeps creating the same tables when the models change later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# INTEGER on SQLite (so that it is the rowid), BIGINT elsewhere.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# schema.Timestamp: integer milliseconds on SQLite, timestamptz elsewhere.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")
SHA256 = sa.LargeBinary(32)


def upgrade() -> None:
    _create_image_tables()
    _create_name_thumbnail_feature_tables()
    _create_run_tables()


def _create_image_tables() -> None:
    op.create_table(
        "collections",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collections"),
        sa.UniqueConstraint("name", name="uq_collections_name"),
    )
    op.create_table(
        "blobs",
        sa.Column("id", ID, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_blobs"),
    )
    op.create_table(
        "blob_hashes",
        sa.Column("sha256", SHA256, nullable=False),
        sa.Column("blob_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_blob_hashes"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "images",
        sa.Column("id", ID, nullable=False),
        sa.Column("collection_id", ID, nullable=False),
        sa.Column("blob_id", ID, nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.Column("known_label", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["blob_id"], ["blobs.id"], name="fk_images_blob_id_blobs"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name="fk_images_collection_id_collections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.UniqueConstraint("blob_id", "collection_id", name="uq_images_blob"),
    )


def _create_name_thumbnail_feature_tables() -> None:
    op.create_table(
        "image_names",
        sa.Column("image_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_image_names_image_id_images", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("image_id", "name", name="pk_image_names"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "thumbnails",
        sa.Column("image_id", ID, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_thumbnails_image_id_images", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("image_id", name="pk_thumbnails"),
    )
    op.create_table(
        "features",
        sa.Column("image_id", ID, nullable=False),
        sa.Column("extractor", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_features_image_id_images", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("image_id", "extractor", name="pk_features"),
    )


def _create_run_tables() -> None:
    _create_runs_and_models()
    _create_clusters_and_assignments()


def _create_runs_and_models() -> None:
    op.create_table(
        "runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("collection_id", ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("features", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("n_clusters", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name="fk_runs_collection_id_collections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_collection_id", "runs", ["collection_id"])
    op.create_table(
        "run_models",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_models_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_models"),
    )


def _create_clusters_and_assignments() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("representative_image_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["representative_image_id"],
            ["images.id"],
            name="fk_clusters_representative_image_id_images",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_clusters_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_clusters"),
        sa.UniqueConstraint("run_id", "index", name="uq_clusters_run_index"),
    )
    op.create_index("ix_clusters_representative_image_id", "clusters", ["representative_image_id"])
    op.create_table(
        "assignments",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("image_id", ID, nullable=False),
        sa.Column("cluster", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("set_by_person", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_assignments_image_id_images", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id", "cluster"],
            ["clusters.run_id", "clusters.index"],
            name="fk_assignments_cluster_clusters",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_assignments_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "image_id", name="pk_assignments"),
    )
    op.create_index("ix_assignments_image_id", "assignments", ["image_id"])


def downgrade() -> None:
    # Migrations are forward-only: restore a backup to go back.
    raise NotImplementedError("pixclass migrations are forward-only")
