"""spe: workspaces, their tables and the TTP's wrapped workspace keys

Revision ID: 0009_spe_workspaces
Revises: 0007_search_speed

No table holds data or a key in the clear: a workspace table row names its encrypted
Parquet in storage, and ``ttp_workspace_keys`` keeps each workspace key wrapped under a key
derived from the TTP's master key, which stays outside the database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0009_spe_workspaces"
down_revision: str | None = "0007_search_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spe_workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("prepared_at", UTC, nullable=True),
        sa.Column("permit_ends_on", sa.Date(), nullable=False),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("destroy_after", sa.Date(), nullable=True),
        sa.Column("destroyed_at", UTC, nullable=True),
        sa.Column("destruction_reason", sa.Text(), nullable=True),
        sa.Column("preparation", sa.JSON(), nullable=True),
        sa.Column("preparation_job_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["permit_id"],
            ["permits.id"],
            name=op.f("fk_spe_workspaces_permit_id_permits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_spe_workspaces_name")),
    )
    with op.batch_alter_table("spe_workspaces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spe_workspaces_permit_id"), ["permit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_spe_workspaces_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_spe_workspaces_destroy_after"),
            ["destroy_after"],
            unique=False,
        )

    op.create_table(
        "spe_workspace_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["spe_workspaces.id"],
            name=op.f("fk_spe_workspace_tables_workspace_id_spe_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spe_workspace_tables")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_spe_workspace_tables_workspace_id")
        ),
    )
    with op.batch_alter_table("spe_workspace_tables", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spe_workspace_tables_workspace_id"),
            ["workspace_id"],
            unique=False,
        )

    op.create_table(
        "ttp_workspace_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace", sa.String(length=80), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ttp_workspace_keys")),
        sa.UniqueConstraint("workspace", name=op.f("uq_ttp_workspace_keys_workspace")),
    )


def downgrade() -> None:
    op.drop_table("ttp_workspace_keys")
    with op.batch_alter_table("spe_workspace_tables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spe_workspace_tables_workspace_id"))
    op.drop_table("spe_workspace_tables")
    with op.batch_alter_table("spe_workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spe_workspaces_destroy_after"))
        batch_op.drop_index(batch_op.f("ix_spe_workspaces_status"))
        batch_op.drop_index(batch_op.f("ix_spe_workspaces_permit_id"))
    op.drop_table("spe_workspaces")
