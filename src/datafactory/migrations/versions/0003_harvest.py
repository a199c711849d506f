"""harvest sources, jobs and records

Revision ID: 0003_harvest
Revises: 0002_catalogue
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0003_harvest"
down_revision: str | None = "0002_catalogue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "harvest_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("allow_private_network", sa.Boolean(), nullable=False),
        sa.Column("schedule", sa.String(length=16), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["publisher_id"],
            ["organisations.id"],
            name=op.f("fk_harvest_sources_publisher_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_harvest_sources_name")),
    )
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_harvest_sources_publisher_id"),
            ["publisher_id"],
            unique=False,
        )

    op.create_table(
        "harvest_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=500), nullable=False),
        sa.Column("remote_iri", sa.Text(), nullable=True),
        sa.Column("dataset_id", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "last_seen_at",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "missing_since",
            datafactory.core.db.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "archived_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_harvest_records_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["harvest_sources.id"],
            name=op.f("fk_harvest_records_source_id_harvest_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_records")),
        sa.UniqueConstraint(
            "source_id", "remote_id", name=op.f("uq_harvest_records_source_id")
        ),
    )
    with op.batch_alter_table("harvest_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_harvest_records_dataset_id"), ["dataset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_harvest_records_source_id"), ["source_id"], unique=False
        )

    op.create_table(
        "harvest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column(
            "started_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "finished_at", datafactory.core.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["harvest_sources.id"],
            name=op.f("fk_harvest_runs_source_id_harvest_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_runs")),
    )
    with op.batch_alter_table("harvest_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_harvest_runs_job_id"), ["job_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_harvest_runs_source_id"), ["source_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("harvest_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_runs_source_id"))
        batch_op.drop_index(batch_op.f("ix_harvest_runs_job_id"))

    op.drop_table("harvest_runs")
    with op.batch_alter_table("harvest_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_records_source_id"))
        batch_op.drop_index(batch_op.f("ix_harvest_records_dataset_id"))

    op.drop_table("harvest_records")
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_sources_publisher_id"))

    op.drop_table("harvest_sources")
