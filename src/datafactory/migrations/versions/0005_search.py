"""full-text search index

Revision ID: 0005_search
Revises: 0004_quality

Two plain tables on every backend: ``search_documents`` (one row per published dataset:
sort keys) and ``search_facets`` (dataset, facet, value). The text index differs: an FTS5
virtual table ``search_fts`` on SQLite (rowid = search_documents.id), and tsvector columns
per language with GIN indexes on PostgreSQL (see ``catalogue/search/``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from datafactory.core.db import UTCDateTime

revision: str = "0005_search"
down_revision: str | None = "0004_quality"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# language code -> PostgreSQL text-search configuration (no Luxembourgish stemmer exists).
PG_CONFIGS = {"lb": "simple", "fr": "french", "de": "german", "en": "english"}


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "dataset_id",
            sa.String(16),
            sa.ForeignKey("datasets.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.Column("modified_at", UTCDateTime(timezone=True), nullable=False),
        *(
            sa.Column(f"title_{lang}", sa.String(300), nullable=False)
            for lang in PG_CONFIGS
        ),
    )
    op.create_index("ix_search_documents_modified", "search_documents", ["modified_at"])
    op.create_table(
        "search_facets",
        sa.Column(
            "doc_id",
            sa.Integer(),
            sa.ForeignKey("search_documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("facet", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(500), primary_key=True),
    )
    op.create_index(
        "ix_search_facets_value", "search_facets", ["facet", "value", "doc_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        for lang in PG_CONFIGS:
            op.execute(f"ALTER TABLE search_documents ADD COLUMN tsv_{lang} tsvector")
            op.execute(
                f"CREATE INDEX ix_search_documents_tsv_{lang} "
                f"ON search_documents USING GIN (tsv_{lang})"
            )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE search_fts")
    op.drop_index("ix_search_facets_value", table_name="search_facets")
    op.drop_table("search_facets")
    op.drop_index("ix_search_documents_modified", table_name="search_documents")
    op.drop_table("search_documents")
