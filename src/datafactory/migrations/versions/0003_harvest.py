"""harvest sources, jobs and records

Revision ID: 0003_harvest
Revises: 0002_catalogue
"""

from collections.abc import Sequence

revision: str = "0003_harvest"
down_revision: str | None = "0002_catalogue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
