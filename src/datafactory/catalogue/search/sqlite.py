"""SQLite: an FTS5 table ``search_fts`` (title, body), rowid = ``search_documents.id``.

The tokenizer is ``porter unicode61 remove_diacritics 2``: case and accents fold away in
every language, and Porter's English rules strip suffixes. They also fold French plurals
("communes" finds "commune") but know no French or German grammar; see docs/search.md.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, Subquery, text
from sqlalchemy.orm import Session

from datafactory.catalogue.search import store
from datafactory.catalogue.search.base import Counts, Entry, SearchQuery

# bm25 is lower for better matches; a title match weighs ten times a body match.
_HITS = text(
    "SELECT rowid AS doc_id, -bm25(search_fts, 10.0, 1.0) AS score "
    "FROM search_fts WHERE search_fts MATCH :match"
)


def fts_match(words: tuple[str, ...]) -> str:
    """An FTS5 query in which every word is a quoted string: no user text is syntax."""
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)


class SqliteIndex:
    def write_text(self, session: Session, entry: Entry) -> None:
        session.execute(
            text("INSERT INTO search_fts (rowid, title, body) VALUES (:id, :t, :b)"),
            {
                "id": entry.doc_id,
                "t": "\n".join(v for v in entry.titles.values() if v),
                "b": "\n".join(v for v in entry.bodies.values() if v),
            },
        )

    def remove_text(self, session: Session, doc_id: int) -> None:
        session.execute(
            text("DELETE FROM search_fts WHERE rowid = :id"), {"id": doc_id}
        )

    def search(self, session: Session, query: SearchQuery) -> Counts:
        hits: Subquery | None = None
        if query.words:
            hits = (
                _HITS.bindparams(match=fts_match(query.words))
                .columns(doc_id=Integer, score=Float)
                .subquery("hits")
            )
        return store.run(session, query, hits)
