"""catalogue: the search words of published data services and dataset series

Revision ID: 0015_record_search_words
Revises: 0014_catalogue_kinds
"""

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015_record_search_words"
down_revision: str | None = "0014_catalogue_kinds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_WORD = re.compile(r"[\W_]+")


def _words(document: dict[str, Any]) -> str:
    # A frozen copy of ``records.search_words`` as it was written: a migration must give
    # the same rows whatever the code becomes.
    texts = [
        *document.get("title", {}).values(),
        *document.get("description", {}).values(),
        *(w for words in document.get("keywords", {}).values() for w in words),
    ]
    seen: dict[str, None] = {}
    for text in texts:
        bare = "".join(
            c
            for c in unicodedata.normalize("NFKD", text)
            if not unicodedata.combining(c)
        )
        for word in _NOT_WORD.sub(" ", bare.casefold()).split():
            seen[word] = None
    return "".join(f" {w}" for w in seen)


def upgrade() -> None:
    with op.batch_alter_table("catalogue_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_words", sa.Text(), nullable=True))
    connection = op.get_bind()
    published = connection.execute(
        sa.text(
            "SELECT r.id, v.document FROM catalogue_records r "
            "JOIN catalogue_record_versions v "
            "ON v.record_id = r.id AND v.number = r.version "
            "WHERE r.status = 'published'"
        )
    )
    for record_id, document in list(published):
        if isinstance(document, str):  # SQLite hands JSON back as text
            document = json.loads(document)
        connection.execute(
            sa.text("UPDATE catalogue_records SET search_words = :w WHERE id = :id"),
            {"w": _words(document), "id": record_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("catalogue_records", schema=None) as batch_op:
        batch_op.drop_column("search_words")
