"""SQLite: an FTS5 table ``search_fts`` (title, body, facets), rowid = the document id.

The tokenizer is ``porter unicode61 remove_diacritics 2``, and texts lose their accents in
Python first (``unaccent``, as the words of a query do): unicode61 only strips the accents
of Latin letters, so a Greek "Ελλάδα" would keep its tonos, and it keeps "ß" where the
query has "ss". Every language a record holds goes into the same two columns (lb, fr, de,
en and any other, such as a harvested Greek title). Porter's English rules strip
suffixes. They also fold French plurals ("communes" finds "commune") but know no French
or German grammar; see docs/search.md.

Facet and sample tokens sit in the ``facets`` column, so words and filters are one MATCH:
FTS5 intersects the doclists, skipping through the long ones. The table keeps
``detail=column`` (which column a token is in, not where): half the size of the
positions, and all a search needs, since it has no phrase or NEAR queries.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from datafactory.catalogue.search.base import Candidate, Entry, Match, unaccent
from datafactory.catalogue.search.store import TITLE_COLUMNS, fetch_all

_SIMPLE = re.compile(r"[a-z0-9]+")
_oracle = threading.local()


def fts_tokens(word: str) -> tuple[str, ...]:
    """The tokens unicode61 makes of ``word`` (before stemming), each one FTS5 term.

    A quoted string of two tokens would be a phrase query, which ``detail=column`` refuses
    ("a_b" is two tokens); so each token is matched on its own, and all must match.
    """
    return (word,) if _SIMPLE.fullmatch(word) else _tokenize(word)


@lru_cache(maxsize=4096)
def _tokenize(word: str) -> tuple[str, ...]:
    connection = getattr(_oracle, "connection", None)
    if connection is None:
        connection = sqlite3.connect(":memory:")
        connection.execute(
            "CREATE VIRTUAL TABLE t USING fts5(x, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        connection.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        _oracle.connection = connection
    with connection:
        connection.execute("INSERT INTO t (rowid, x) VALUES (1, ?)", (word,))
        terms = connection.execute("SELECT term FROM v ORDER BY offset").fetchall()
        connection.execute("DELETE FROM t")
    return tuple(term for (term,) in terms)


def fts_match(match: Match) -> str | None:
    """An FTS5 query in which every term is a quoted string: no user text is syntax.

    None when the words leave no term to look for (nothing can match them).
    """
    parts = []
    title = ""
    if match.words:
        terms = [t for w in match.words for t in fts_tokens(w)]
        if not terms:
            return None
        title = " AND ".join(f"{{title}} : {_quoted(t)}" for t in terms)
        anywhere = " AND ".join(f"{{title body}} : {_quoted(t)}" for t in terms)
        parts.append(f"({title if match.tier == 'title' else anywhere})")
    for group in match.groups:
        parts.append("(" + " OR ".join(f"facets : {_quoted(t)}" for t in group) + ")")
    query = " AND ".join(parts)
    if match.words and match.tier == "not_title":
        query = f"({query}) NOT ({title})"
    return query


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SqliteIndex:
    def estimate(self, session: Session, match: Match) -> int | None:
        """FTS5 streams its matches: ``LIMIT 10001`` stops as soon as it has them."""
        del session, match
        return None

    def write_text(self, session: Session, entry: Entry) -> None:
        session.execute(
            text(
                "INSERT INTO search_fts (rowid, title, body, facets) "
                "VALUES (:id, :t, :b, :f)"
            ),
            {
                "id": entry.doc_id,
                "t": unaccent("\n".join(v for v in entry.titles.values() if v)),
                "b": unaccent("\n".join(v for v in entry.bodies.values() if v)),
                "f": " ".join(entry.tokens),
            },
        )

    def remove_text(self, session: Session, doc_id: int) -> None:
        session.execute(
            text("DELETE FROM search_fts WHERE rowid = :id"), {"id": doc_id}
        )

    def rows(
        self, session: Session, match: Match, limit: int | None
    ) -> list[Candidate]:
        """Ids only: reading anything else of a document is a lookup per row."""
        query = fts_match(match)
        if query is None:
            return []
        sql = "SELECT rowid FROM search_fts WHERE search_fts MATCH :m"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        found = fetch_all(session, sql, {"m": query})
        return [(i, None, None, None) for (i,) in found]

    def facets_of(self, session: Session, doc_ids: list[int]) -> dict[int, str]:
        found = fetch_all(
            session,
            "SELECT d.id, d.facets FROM json_each(:ids) AS j "
            "JOIN search_documents AS d ON d.id = j.value",
            {"ids": json.dumps(doc_ids)},
        )
        return dict(found)

    def count(self, session: Session, match: Match) -> int:
        query = fts_match(match)
        if query is None:
            return 0
        sql = "SELECT count(*) FROM search_fts WHERE search_fts MATCH :m"
        return int(fetch_all(session, sql, {"m": query})[0][0])

    def newest(
        self, session: Session, match: Match, offset: int, limit: int, small: bool
    ) -> list[int]:
        """FTS5 walks its doclists backwards: no sort, and it stops at ``limit``."""
        del small  # the same walk either way
        return self._ids(
            session,
            match,
            "SELECT rowid FROM search_fts WHERE search_fts MATCH :m "
            "ORDER BY rowid DESC LIMIT :n OFFSET :o",
            offset,
            limit,
        )

    def by_title(
        self,
        session: Session,
        match: Match,
        column: str,
        offset: int,
        limit: int,
        small: bool,
    ) -> list[int]:
        """Few matches: collect and sort them. Many: collect them, then walk the sort
        key's index until a page of them has come by (no sort of them all)."""
        if column not in TITLE_COLUMNS:
            raise ValueError(f"not a sort key: {column}")
        walk = "" if small else f" INDEXED BY ix_search_documents_{column}"
        sql = (
            f"SELECT id FROM search_documents{walk} WHERE id IN "
            "(SELECT rowid FROM search_fts WHERE search_fts MATCH :m) "
            f"ORDER BY {column}, id LIMIT :n OFFSET :o"
        )
        return self._ids(session, match, sql, offset, limit)

    def _ids(
        self, session: Session, match: Match, sql: str, offset: int, limit: int
    ) -> list[int]:
        query = fts_match(match)
        if query is None:
            return []
        found = fetch_all(session, sql, {"m": query, "n": limit, "o": offset})
        return [i for (i,) in found]
