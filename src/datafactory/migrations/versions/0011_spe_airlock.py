"""spe: release requests, reviews and the public code archive

Revision ID: 0011_spe_airlock
Revises: 0010_spe_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import datafactory.core.db

revision: str = "0011_spe_airlock"
down_revision: str | None = "0010_spe_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
