"""spe: workspaces, their tables and the TTP's wrapped workspace keys

Revision ID: 0009_spe_workspaces
Revises: 0007_search_speed
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import datafactory.core.db

revision: str = "0009_spe_workspaces"
down_revision: str | None = "0007_search_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
