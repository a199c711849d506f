"""catalogue: where the data of a protected dataset lives, for the preparation of workspaces

Revision ID: 0013_catalogue_sources
Revises: 0012_spe_queries
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import datafactory.core.db

revision: str = "0013_catalogue_sources"
down_revision: str | None = "0012_spe_queries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalogue_data_sources",
        sa.Column("dataset_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location", sa.String(length=1000), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=True),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("person_column", sa.String(length=63), nullable=True),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("registered_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_catalogue_data_sources_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_catalogue_data_sources")),
    )


def downgrade() -> None:
    op.drop_table("catalogue_data_sources")
