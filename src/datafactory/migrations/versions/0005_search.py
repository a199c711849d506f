"""full-text search index

Revision ID: 0005_search
Revises: 0004_quality
"""

from collections.abc import Sequence

revision: str = "0005_search"
down_revision: str | None = "0004_quality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
