"""The tables both backends share and the SQL on them: filters, sorts, paging, facet counts.

A backend only contributes ``hits``: a subquery of (doc_id, score) for the words, where a
higher score is more relevant. Everything else is the same SQL on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Integer,
    Select,
    String,
    Subquery,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from datafactory.catalogue.schemas import LANGUAGES
from datafactory.catalogue.search.base import Counts, Entry, SearchQuery, Sort
from datafactory.catalogue.search.entries import normalise_filter
from datafactory.core.db import Base, UTCDateTime

#: How many values of one facet come back, the most frequent first.
FACET_LIMIT = 50

documents = Table(
    "search_documents",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "dataset_id",
        String(16),
        ForeignKey("datasets.id", ondelete="CASCADE"),
        unique=True,
        nullable=False,
    ),
    Column("publisher_id", Integer, nullable=False),
    Column("modified_at", UTCDateTime(timezone=True), nullable=False, index=True),
    *(Column(f"title_{lang}", String(300), nullable=False) for lang in LANGUAGES),
)
facets = Table(
    "search_facets",
    Base.metadata,
    Column(
        "doc_id",
        Integer,
        ForeignKey("search_documents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("facet", String(32), primary_key=True),
    Column("value", String(500), primary_key=True),
)


def doc_id_of(session: Session, dataset_id: str) -> int | None:
    return session.scalar(
        select(documents.c.id).where(documents.c.dataset_id == dataset_id)
    )


def insert_document(session: Session, entry: Entry, titles: Mapping[str, str]) -> int:
    row = {
        "dataset_id": entry.dataset_id,
        "publisher_id": entry.publisher_id,
        "modified_at": entry.modified_at,
        **{f"title_{lang}": titles[lang] for lang in LANGUAGES},
    }
    doc_id = session.execute(
        insert(documents).values(**row).returning(documents.c.id)
    ).scalar_one()
    if entry.facets:
        session.execute(
            insert(facets),
            [{"doc_id": doc_id, "facet": f, "value": v} for f, v in entry.facets],
        )
    return int(doc_id)


def delete_document(session: Session, doc_id: int) -> None:
    session.execute(delete(facets).where(facets.c.doc_id == doc_id))
    session.execute(delete(documents).where(documents.c.id == doc_id))


def run(session: Session, query: SearchQuery, hits: Subquery | None) -> Counts:
    """The page of ids, the total and the facet counts of ``query``."""
    matching = _matching(query, hits)
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    page = (
        matching.with_only_columns(documents.c.dataset_id)
        .order_by(*_order(query, hits))
        .offset(query.offset)
        .limit(query.page_size)
    )
    items = tuple(session.scalars(page))
    return Counts(items, total, _facet_counts(session, matching) if total else {})


def _matching(query: SearchQuery, hits: Subquery | None) -> Select[tuple[int]]:
    statement = select(documents.c.id)
    if hits is not None:
        statement = statement.join(hits, hits.c.doc_id == documents.c.id)
    for facet, values in query.filters.items():
        wanted = sorted({normalise_filter(facet, v) for v in values if v.strip()})
        if wanted:
            statement = statement.where(
                documents.c.id.in_(
                    select(facets.c.doc_id).where(
                        facets.c.facet == facet, facets.c.value.in_(wanted)
                    )
                )
            )
    return statement


def _order(query: SearchQuery, hits: Subquery | None) -> list[ColumnElement[object]]:
    title = documents.c[f"title_{query.lang if query.lang in LANGUAGES else 'en'}"]
    latest: list[ColumnElement[object]] = [
        documents.c.modified_at.desc(),
        documents.c.id.desc(),
    ]
    if query.sort == Sort.TITLE:
        return [title.asc(), documents.c.id.asc()]
    if query.sort == Sort.RELEVANCE and hits is not None:
        return [hits.c.score.desc(), *latest]
    return latest


def _facet_counts(
    session: Session, matching: Select[tuple[int]]
) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(facets.c.facet, facets.c.value, func.count())
        .where(facets.c.doc_id.in_(matching))
        .group_by(facets.c.facet, facets.c.value)
    )
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for facet, value, count in sorted(rows, key=lambda r: (-r[2], r[1])):
        if len(counts[facet]) < FACET_LIMIT:
            counts[facet][value] = count
    return dict(counts)


def values_of(session: Session, facet: str, contains: str = "") -> list[str]:
    """Every value of ``facet`` in the index (e.g. all keywords), sorted."""
    statement = select(facets.c.value).where(facets.c.facet == facet).distinct()
    if contains:
        statement = statement.where(facets.c.value.contains(contains, autoescape=True))
    return sorted(session.scalars(statement))
