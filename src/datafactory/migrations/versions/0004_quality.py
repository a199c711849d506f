"""quality scores, link checks and data products

Revision ID: 0004_quality
Revises: 0003_harvest
"""

from collections.abc import Sequence

revision: str = "0004_quality"
down_revision: str | None = "0003_harvest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
