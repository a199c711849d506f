"""PostgreSQL: one tsvector ``terms`` on ``search_documents``, GIN-indexed.

Each language has its own text-search configuration (french, german, english, and simple
for Luxembourgish, which has no stemmer), so "communes" finds "commune" through the french
stemmer. Texts in the other languages a record may hold (a harvested Greek or Dutch title)
go with Luxembourgish into the ``simple`` lexemes (prefix ``lb``): no stemming, but every
word is found, and a search needs no extra branch. ``terms`` holds every language's
lexemes prefixed with the language (``fr:commun``), the title's lexemes once more with
``!`` (``fr!commun``: for the title tier of relevance), and the facet and sample tokens
(``b12``, ``s256``). Words and filters are then one tsquery on one GIN index, which skips
through the long posting lists:

    ('fr:commun' | 'en:commun' | 'lb:communes' | 'de:commun') & ('b12' | 'b13') & 'a3'

A query matches when every word matches in one language's text (as ``plainto_tsquery``
per language did). Texts and words lose their accents in Python first (``unaccent``), as
FTS5's ``remove_diacritics`` does on SQLite, so both backends fold "é" to "e" alike
without needing PostgreSQL's ``unaccent`` extension.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import text
from sqlalchemy.orm import Session

from datafactory.catalogue.search.base import Candidate, Entry, Match, unaccent
from datafactory.catalogue.search.store import TITLE_COLUMNS, fetch_all

CONFIGS: Mapping[str, str] = {
    "lb": "simple",
    "fr": "french",
    "de": "german",
    "en": "english",
}
#: The language whose ``simple`` lexemes also hold every language not in ``CONFIGS``.
UNSTEMMED = "lb"


def terms_sql(source: Callable[[str], str]) -> str:
    """SQL for a document's ``terms``; ``source("a_fr")`` is the SQL of an input.

    Inputs: ``a_<lang>`` (title and body), ``t_<lang>`` (title), ``tokens`` (text[]).
    """

    def lexemes(cfg: str, name: str, prefix: str) -> str:
        return (
            f"ARRAY(SELECT '{prefix}' || x FROM "
            f"unnest(tsvector_to_array(to_tsvector('{cfg}', {source(name)}))) AS x)"
        )

    # Configuration names and prefixes come from CONFIGS, never from the user.
    return (
        "array_to_tsvector("
        + " || ".join(
            f"{lexemes(cfg, f'a_{lang}', f'{lang}:')} || "
            f"{lexemes(cfg, f't_{lang}', f'{lang}!')}"
            for lang, cfg in CONFIGS.items()
        )
        + f" || {source('tokens')})"
    )


_WRITE = text(
    "UPDATE search_documents SET terms = "
    + terms_sql(
        lambda name: f"CAST(:{name} AS text[])" if name == "tokens" else f":{name}"
    )
    + " WHERE id = :id"
)
_STEMS = text(
    "SELECT "
    + ", ".join(
        f"tsvector_to_array(to_tsvector('{cfg}', :words)) AS {lang}"
        for lang, cfg in CONFIGS.items()
    )
)


def terms_params(entry: Entry) -> dict[str, object]:
    """The inputs of ``terms_sql`` for one document."""
    values: dict[str, object] = {"tokens": list(entry.tokens)}
    others = sorted((set(entry.titles) | set(entry.bodies)) - set(CONFIGS))
    for lang in CONFIGS:
        group = [lang, *others] if lang == UNSTEMMED else [lang]
        title = "\n".join(unaccent(entry.titles.get(x, "")) for x in group)
        body = "\n".join(unaccent(entry.bodies.get(x, "")) for x in group)
        values[f"t_{lang}"] = title
        values[f"a_{lang}"] = title + "\n" + body
    return values


def _lexeme(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _stems(session: Session, words: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
    """Each language's lexemes of the words, once per session and words."""
    cache: dict[tuple[str, ...], Mapping[str, tuple[str, ...]]] = (
        session.info.setdefault("search_stems", {})
    )
    if words not in cache:
        row = session.execute(_STEMS, {"words": " ".join(words)}).one()
        cache[words] = {lang: tuple(row[i]) for i, lang in enumerate(CONFIGS)}
    return cache[words]


def tsquery(session: Session, match: Match) -> str | None:
    """The tsquery text of ``match``; None when the words leave nothing to look for."""
    parts = []
    title = ""
    if match.words:
        stems = _stems(session, match.words)

        def either_language(mark: str) -> str:
            return " | ".join(
                "(" + " & ".join(_lexeme(f"{lang}{mark}{s}") for s in found) + ")"
                for lang, found in stems.items()
                if found
            )

        anywhere, title = either_language(":"), either_language("!")
        if not anywhere:  # only stop words, in every language
            return None
        parts.append(f"({title if match.tier == 'title' else anywhere})")
    for group in match.groups:
        parts.append("(" + " | ".join(_lexeme(t) for t in group) + ")")
    query = " & ".join(parts)
    if match.words and match.tier == "not_title":
        query = f"({query}) & !({title})"
    return query


class PostgresIndex:
    def estimate(self, session: Session, match: Match) -> int | None:
        """The planner's row estimate (from the lexeme statistics ANALYZE keeps):
        a bitmap scan reads all of the index's matches before a LIMIT can stop it."""
        query = tsquery(session, match)
        if query is None:
            return 0
        plan = fetch_all(
            session,
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_documents "
            "WHERE terms @@ CAST(%(q)s AS tsquery)",
            {"q": query},
        )[0][0]
        return int(plan[0]["Plan"]["Plan Rows"])

    def write_text(self, session: Session, entry: Entry) -> None:
        session.execute(_WRITE, {"id": entry.doc_id, **terms_params(entry)})

    def remove_text(self, session: Session, doc_id: int) -> None:
        """The terms live on the document row, which ``store`` deletes."""

    def rows(
        self, session: Session, match: Match, limit: int | None
    ) -> list[Candidate]:
        """Everything ``store`` may need: the heap row is read anyway (visibility)."""
        query = tsquery(session, match)
        if query is None:
            return []
        params = {"q": query, "t": query}
        if match.words:
            params["t"] = tsquery(session, match.in_tier("title")) or query
        sql = (
            "SELECT id, facets, dataset_id, terms @@ CAST(%(t)s AS tsquery) "
            "FROM search_documents WHERE terms @@ CAST(%(q)s AS tsquery)"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return fetch_all(session, sql, params)

    def facets_of(self, session: Session, doc_ids: list[int]) -> dict[int, str]:
        sql = "SELECT id, facets FROM search_documents WHERE id = ANY(%(ids)s)"
        return dict(fetch_all(session, sql, {"ids": doc_ids}))

    def count(self, session: Session, match: Match) -> int:
        query = tsquery(session, match)
        if query is None:
            return 0
        sql = (
            "SELECT count(*) FROM search_documents "
            "WHERE terms @@ CAST(%(q)s AS tsquery)"
        )
        return int(fetch_all(session, sql, {"q": query})[0][0])

    def newest(
        self, session: Session, match: Match, offset: int, limit: int, small: bool
    ) -> list[int]:
        return self._ordered(session, match, "id", "id DESC", offset, limit, small)

    def by_title(
        self,
        session: Session,
        match: Match,
        column: str,
        offset: int,
        limit: int,
        small: bool,
    ) -> list[int]:
        if column not in TITLE_COLUMNS:
            raise ValueError(f"not a sort key: {column}")
        columns, order = f"id, {column}", f"{column}, id"
        return self._ordered(session, match, columns, order, offset, limit, small)

    def _ordered(
        self,
        session: Session,
        match: Match,
        columns: str,
        order: str,
        offset: int,
        limit: int,
        small: bool,
    ) -> list[int]:
        """Few matches (``small``): bitmap scan, then sort. Many: the planner may walk
        an index in order and test each row, which pays only when matches are dense
        (it would test tens of thousands of rows to fill a page of a small set)."""
        query = tsquery(session, match)
        if query is None:
            return []
        matching = "FROM search_documents WHERE terms @@ CAST(%(q)s AS tsquery)"
        if small:
            matching = f"WITH m AS MATERIALIZED (SELECT {columns} {matching}) "
            matching += "SELECT id FROM m"
        else:
            matching = f"SELECT id {matching}"
        found = fetch_all(
            session,
            f"{matching} ORDER BY {order} LIMIT %(n)s OFFSET %(o)s",
            {"q": query, "n": limit, "o": offset},
        )
        return [i for (i,) in found]
