"""catalogue: data services and dataset series, and the members of each series

Revision ID: 0014_catalogue_kinds
Revises: 0013_catalogue_sources
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0014_catalogue_kinds"
down_revision: str | None = "0013_catalogue_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalogue_records",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("modified_at", UTC, nullable=False),
        sa.Column("published_at", UTC, nullable=True),
        sa.Column("deleted_at", UTC, nullable=True),
        sa.Column("deletion_reason", sa.Text(), nullable=True),
        sa.Column("harvest_source_id", sa.Integer(), nullable=True),
        sa.Column("remote_id", sa.String(length=500), nullable=True),
        sa.Column("remote_iri", sa.String(length=500), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("missing_since", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["publisher_id"],
            ["organisations.id"],
            name=op.f("fk_catalogue_records_publisher_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["harvest_source_id"],
            ["harvest_sources.id"],
            name=op.f("fk_catalogue_records_harvest_source_id_harvest_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_records")),
        sa.UniqueConstraint(
            "harvest_source_id",
            "remote_id",
            name=op.f("uq_catalogue_records_harvest_source_id"),
        ),
    )
    with op.batch_alter_table("catalogue_records", schema=None) as batch_op:
        for column in ("kind", "publisher_id", "status", "harvest_source_id"):
            batch_op.create_index(
                batch_op.f(f"ix_catalogue_records_{column}"), [column], unique=False
            )
        batch_op.create_index(
            batch_op.f("ix_catalogue_records_remote_iri"), ["remote_iri"], unique=False
        )
    op.create_table(
        "catalogue_record_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("published_at", UTC, nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["catalogue_records.id"],
            name=op.f("fk_catalogue_record_versions_record_id_catalogue_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_record_versions")),
        sa.UniqueConstraint(
            "record_id",
            "number",
            name=op.f("uq_catalogue_record_versions_record_id"),
        ),
    )
    with op.batch_alter_table("catalogue_record_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalogue_record_versions_record_id"),
            ["record_id"],
            unique=False,
        )
    op.create_table(
        "series_memberships",
        sa.Column("dataset_id", sa.String(length=16), nullable=False),
        sa.Column("series_ref", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_series_memberships_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "dataset_id", "series_ref", name=op.f("pk_series_memberships")
        ),
    )
    with op.batch_alter_table("series_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_series_memberships_series_ref"),
            ["series_ref"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("series_memberships")
    op.drop_table("catalogue_record_versions")
    op.drop_table("catalogue_records")
