"""spe: sandboxed jobs and workspace outputs

Revision ID: 0010_spe_jobs
Revises: 0009_spe_workspaces
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import datafactory.core.db

revision: str = "0010_spe_jobs"
down_revision: str | None = "0009_spe_workspaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = datafactory.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
