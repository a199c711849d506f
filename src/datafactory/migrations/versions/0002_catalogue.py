"""catalogue: datasets and versions

Revision ID: 0002_catalogue
Revises: 0001_foundation
Create Date: 2026-11-26 04:05:37.363790
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0002_catalogue"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "modified_at",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "published_at",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "deleted_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("deletion_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["publisher_id"],
            ["organisations.id"],
            name=op.f("fk_datasets_publisher_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_datasets_publisher_id"), ["publisher_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_datasets_status"), ["status"], unique=False
        )

    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column(
            "published_at",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_versions_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
        sa.UniqueConstraint(
            "dataset_id", "number", name=op.f("uq_dataset_versions_dataset_id")
        ),
    )
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataset_versions_dataset_id"), ["dataset_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_versions_dataset_id"))

    op.drop_table("dataset_versions")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_status"))
        batch_op.drop_index(batch_op.f("ix_datasets_publisher_id"))

    op.drop_table("datasets")
