"""spe: the query ledger of each workspace

Revision ID: 0012_spe_queries
Revises: 0011_spe_airlock
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import datafactory.core.db

revision: str = "0012_spe_queries"
down_revision: str | None = "0011_spe_airlock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
