"""search at a million datasets: facet tokens in the text index, ids in time order

Revision ID: 0007_search_speed
Revises: 0008_linkage

- ``search_facet_values`` numbers each (facet, value) and counts its documents; it
  replaces ``search_facets``. Each document keeps its facet tokens (``b12``: facet letter,
  value id) in ``search_documents.facets``, and the text index holds them too, so words
  and filters are one index lookup.
- A document's id is its publication time in microseconds: "newest first" is "highest id
  first", which the text indexes walk without sorting. The sort keys ``title_<lang>``
  get an index each; ``modified_at`` no longer needs one.
- SQLite: ``search_fts`` becomes (title, body, facets) with ``detail=column``.
- PostgreSQL: one ``terms`` tsvector (language-prefixed lexemes, title lexemes again with
  ``!``, facet and sample tokens) with one GIN index replaces ``tsv_<lang>`` and their
  four GIN indexes. Ranking no longer uses ``ts_rank``, so positions are not kept.

Existing documents are converted in place (no re-publication needed). The downgrade
restores the old tables; on PostgreSQL its ``tsv_<lang>`` come back without positions,
so ``ts_rank`` ranks them roughly until the datasets are published again.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from datafactory.core.db import UTCDateTime

revision: str = "0007_search_speed"
down_revision: str | None = "0008_linkage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGS = ("lb", "fr", "de", "en")
# As in catalogue/search/entries.py at this revision (copied: migrations stay frozen).
LETTERS = {
    "publisher": "a",
    "theme": "b",
    "format": "c",
    "licence": "d",
    "access_rights": "e",
    "language": "f",
    "hvd_category": "g",
    "open": "h",
    "keyword": "i",
}
SAMPLE_LEVELS = (4, 16, 64, 256, 1024, 4096)
BATCH = 5000

_documents = sa.table(
    "search_documents",
    sa.column("id", sa.BigInteger()),
    sa.column("dataset_id", sa.String()),
    sa.column("modified_at", UTCDateTime(timezone=True)),
)


def _sample(dataset_id: str) -> str:
    digest = hashlib.blake2b(dataset_id.encode(), digest_size=8).digest()
    number = int.from_bytes(digest, "big")
    return "".join(f" s{n}" for n in SAMPLE_LEVELS if number % n == 0)


def _microseconds(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _letter_case() -> str:
    whens = " ".join(f"WHEN '{facet}' THEN '{c}'" for facet, c in LETTERS.items())
    return f"CASE f.facet {whens} END"


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    op.create_table(
        "search_facet_values",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("facet", sa.String(32), nullable=False),
        sa.Column("value", sa.String(500), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.UniqueConstraint("facet", "value", name="uq_search_facet_values"),
    )
    op.create_index(
        "ix_search_facet_values_top",
        "search_facet_values",
        ["facet", sa.text("documents DESC"), "id"],
    )
    op.execute(
        "INSERT INTO search_facet_values (facet, value, documents) "
        "SELECT facet, value, count(*) FROM search_facets GROUP BY facet, value"
    )
    op.add_column(
        "search_documents",
        sa.Column("facets", sa.Text(), nullable=False, server_default=""),
    )
    aggregate = "string_agg" if pg else "group_concat"
    op.execute(
        "UPDATE search_documents SET facets = COALESCE(("
        f"SELECT {aggregate}({_letter_case()} || v.id, ' ') "
        "FROM search_facets f JOIN search_facet_values v "
        "ON v.facet = f.facet AND v.value = f.value "
        "WHERE f.doc_id = search_documents.id), '')"
    )
    op.drop_index("ix_search_facets_value", table_name="search_facets")
    op.drop_table("search_facets")
    op.drop_index("ix_search_documents_modified", table_name="search_documents")

    # Old id -> new id (publication time in microseconds) and sample tokens.
    op.create_table(
        "search_id_map",
        sa.Column("old_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("new_id", sa.BigInteger(), nullable=False),
        sa.Column("sample", sa.String(60), nullable=False),
    )
    mapping = []
    last = None
    for old_id, dataset_id, modified_at in bind.execute(
        sa.select(
            _documents.c.id, _documents.c.dataset_id, _documents.c.modified_at
        ).order_by(_documents.c.modified_at, _documents.c.id)
    ):
        new_id = _microseconds(modified_at)
        if last is not None and new_id <= last:
            new_id = last + 1
        last = new_id
        mapping.append(
            {"old_id": old_id, "new_id": new_id, "sample": _sample(dataset_id)}
        )
    id_map = sa.table(
        "search_id_map", sa.column("old_id"), sa.column("new_id"), sa.column("sample")
    )
    for start in range(0, len(mapping), BATCH):
        bind.execute(sa.insert(id_map), mapping[start : start + BATCH])

    if pg:
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()
    op.drop_table("search_id_map")
    for lang in LANGS:
        op.create_index(
            f"ix_search_documents_title_{lang}",
            "search_documents",
            [f"title_{lang}", "id"],
        )


def _upgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_fts_new USING fts5(title, body, facets, "
        "tokenize = 'porter unicode61 remove_diacritics 2', detail = column)"
    )
    op.execute(
        "INSERT INTO search_fts_new (rowid, title, body, facets) "
        "SELECT m.new_id, f.title, f.body, d.facets || m.sample "
        "FROM search_fts f JOIN search_id_map m ON m.old_id = f.rowid "
        "JOIN search_documents d ON d.id = f.rowid"
    )
    op.execute(
        "UPDATE search_documents SET id = "
        "(SELECT new_id FROM search_id_map WHERE old_id = search_documents.id)"
    )
    op.execute("DROP TABLE search_fts")
    op.execute("ALTER TABLE search_fts_new RENAME TO search_fts")


def _upgrade_postgresql() -> None:
    op.execute("ALTER TABLE search_documents ALTER COLUMN id DROP DEFAULT")
    op.execute("DROP SEQUENCE IF EXISTS search_documents_id_seq")
    op.execute("ALTER TABLE search_documents ALTER COLUMN id TYPE bigint")
    op.execute("ALTER TABLE search_documents ADD COLUMN terms tsvector")
    lexemes = " || ".join(
        f"ARRAY(SELECT '{lang}:' || x FROM unnest(tsvector_to_array(d.tsv_{lang})) x)"
        f" || ARRAY(SELECT '{lang}!' || x FROM "
        f"unnest(tsvector_to_array(ts_filter(d.tsv_{lang}, '{{a}}'))) x)"
        for lang in LANGS
    )
    op.execute(
        "UPDATE search_documents d SET id = m.new_id, terms = array_to_tsvector("
        f"{lexemes} || array_remove(string_to_array(d.facets || m.sample, ' '), '')) "
        "FROM search_id_map m WHERE m.old_id = d.id"
    )
    for lang in LANGS:
        op.execute(f"DROP INDEX ix_search_documents_tsv_{lang}")
        op.execute(f"ALTER TABLE search_documents DROP COLUMN tsv_{lang}")
    # No pending list: a search never scans unmerged entries (publishing is rare).
    op.execute(
        "CREATE INDEX ix_search_documents_terms ON search_documents "
        "USING GIN (terms) WITH (fastupdate = off)"
    )


def downgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    for lang in LANGS:
        op.drop_index(
            f"ix_search_documents_title_{lang}", table_name="search_documents"
        )
    # Ids go back to 1, 2, 3... in time order (an integer column on PostgreSQL).
    rows = list(
        bind.execute(sa.text("SELECT id, facets FROM search_documents ORDER BY id"))
    )
    values = {
        f"{LETTERS[facet]}{value_id}": (facet, value)
        for value_id, facet, value in bind.execute(
            sa.text("SELECT id, facet, value FROM search_facet_values")
        )
    }
    op.create_table(
        "search_id_map",
        sa.Column("old_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("new_id", sa.BigInteger(), nullable=False),
        sa.Column("sample", sa.String(60), nullable=False),
    )
    id_map = sa.table(
        "search_id_map", sa.column("old_id"), sa.column("new_id"), sa.column("sample")
    )
    mapping = [
        {"old_id": old, "new_id": n, "sample": ""} for n, (old, _) in enumerate(rows, 1)
    ]
    for start in range(0, len(mapping), BATCH):
        bind.execute(sa.insert(id_map), mapping[start : start + BATCH])
    if pg:
        _downgrade_postgresql(len(rows))
    else:
        _downgrade_sqlite()
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
    facet_rows = [
        {"doc_id": n, "facet": values[t][0], "value": values[t][1]}
        for n, (_, tokens) in enumerate(rows, 1)
        for t in dict.fromkeys(tokens.split())
        if t in values
    ]
    facets = sa.table(
        "search_facets", sa.column("doc_id"), sa.column("facet"), sa.column("value")
    )
    for start in range(0, len(facet_rows), BATCH):
        bind.execute(sa.insert(facets), facet_rows[start : start + BATCH])
    op.create_index(
        "ix_search_facets_value", "search_facets", ["facet", "value", "doc_id"]
    )
    op.drop_table("search_id_map")
    op.create_index("ix_search_documents_modified", "search_documents", ["modified_at"])
    op.drop_column("search_documents", "facets")
    op.drop_index("ix_search_facet_values_top", table_name="search_facet_values")
    op.drop_table("search_facet_values")


def _downgrade_sqlite() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_fts_old USING fts5("
        "title, body, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    op.execute(
        "INSERT INTO search_fts_old (rowid, title, body) "
        "SELECT m.new_id, f.title, f.body "
        "FROM search_fts f JOIN search_id_map m ON m.old_id = f.rowid"
    )
    op.execute(
        "UPDATE search_documents SET id = "
        "(SELECT new_id FROM search_id_map WHERE old_id = search_documents.id)"
    )
    op.execute("DROP TABLE search_fts")
    op.execute("ALTER TABLE search_fts_old RENAME TO search_fts")


def _downgrade_postgresql(count: int) -> None:
    for lang in LANGS:
        op.execute(f"ALTER TABLE search_documents ADD COLUMN tsv_{lang} tsvector")
    vectors = ", ".join(
        f"tsv_{lang} = setweight(array_to_tsvector(ARRAY(SELECT substr(x, 4) FROM "
        f"unnest(tsvector_to_array(d.terms)) x WHERE x LIKE '{lang}:%')), 'B')"
        for lang in LANGS
    )
    op.execute(
        f"UPDATE search_documents d SET id = m.new_id, {vectors} "
        "FROM search_id_map m WHERE m.old_id = d.id"
    )
    op.execute("DROP INDEX ix_search_documents_terms")
    op.execute("ALTER TABLE search_documents DROP COLUMN terms")
    op.execute("ALTER TABLE search_documents ALTER COLUMN id TYPE integer")
    op.execute("CREATE SEQUENCE search_documents_id_seq OWNED BY search_documents.id")
    op.execute(f"SELECT setval('search_documents_id_seq', {count + 1}, false)")
    op.execute(
        "ALTER TABLE search_documents ALTER COLUMN id "
        "SET DEFAULT nextval('search_documents_id_seq')"
    )
    for lang in LANGS:
        op.execute(
            f"CREATE INDEX ix_search_documents_tsv_{lang} "
            f"ON search_documents USING GIN (tsv_{lang})"
        )
