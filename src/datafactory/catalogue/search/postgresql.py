"""PostgreSQL: a tsvector column per language on ``search_documents``, each GIN-indexed.

Each language has its own text-search configuration (french, german, english, and simple
for Luxembourgish, which has no stemmer), so "communes" finds "commune" through the french
stemmer. A query matches when every word matches in at least one language's column.
Texts and words lose their accents in Python first (``unaccent``), as FTS5's
``remove_diacritics`` does on SQLite, so both backends fold "é" to "e" alike without
needing PostgreSQL's ``unaccent`` extension.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Float, Integer, Subquery, text
from sqlalchemy.orm import Session

from datafactory.catalogue.search import store
from datafactory.catalogue.search.base import Counts, Entry, SearchQuery, unaccent

CONFIGS: Mapping[str, str] = {
    "lb": "simple",
    "fr": "french",
    "de": "german",
    "en": "english",
}
# Column and configuration names come from CONFIGS, never from the user; the text is bound.
_VECTOR = (
    "setweight(to_tsvector('{cfg}', :t_{lang}), 'A') || "
    "setweight(to_tsvector('{cfg}', :b_{lang}), 'B')"
)
_WRITE = text(
    "UPDATE search_documents SET "
    + ", ".join(
        f"tsv_{lang} = " + _VECTOR.format(cfg=cfg, lang=lang)
        for lang, cfg in CONFIGS.items()
    )
    + " WHERE id = :id"
)
_HITS = text(
    "SELECT id AS doc_id, "
    + " + ".join(f"ts_rank(tsv_{lang}, q_{lang})" for lang in CONFIGS)
    + " AS score FROM search_documents, "
    + ", ".join(
        f"plainto_tsquery('{cfg}', :words) q_{lang}" for lang, cfg in CONFIGS.items()
    )
    + " WHERE "
    + " OR ".join(f"tsv_{lang} @@ q_{lang}" for lang in CONFIGS)
)


class PostgresIndex:
    def write_text(self, session: Session, entry: Entry) -> None:
        values: dict[str, object] = {"id": entry.doc_id}
        for lang in CONFIGS:
            values[f"t_{lang}"] = unaccent(entry.titles.get(lang, ""))
            values[f"b_{lang}"] = unaccent(entry.bodies.get(lang, ""))
        session.execute(_WRITE, values)

    def remove_text(self, session: Session, doc_id: int) -> None:
        """The vectors live on the document row, which ``store`` deletes."""

    def search(self, session: Session, query: SearchQuery) -> Counts:
        hits: Subquery | None = None
        if query.words:
            hits = (
                _HITS.bindparams(words=" ".join(query.words))
                .columns(doc_id=Integer, score=Float)
                .subquery("hits")
            )
        return store.run(session, query, hits)
