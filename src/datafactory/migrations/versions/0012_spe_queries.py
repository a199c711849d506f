"""spe: the query ledger of each workspace

Revision ID: 0012_spe_queries
Revises: 0011_spe_airlock
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0012_spe_queries"
down_revision: str | None = "0011_spe_airlock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spe_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("population", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["spe_workspaces.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_spe_queries_workspace_id", "spe_queries", ["workspace_id"])
    op.create_index("ix_spe_queries_source", "spe_queries", ["source"])


def downgrade() -> None:
    op.drop_index("ix_spe_queries_source", table_name="spe_queries")
    op.drop_index("ix_spe_queries_workspace_id", table_name="spe_queries")
    op.drop_table("spe_queries")
