"""catalogue: where the data of a protected dataset lives, for the preparation of workspaces

Revision ID: 0013_catalogue_sources
Revises: 0012_spe_queries
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import datafactory.core.db

revision: str = "0013_catalogue_sources"
down_revision: str | None = "0012_spe_queries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
