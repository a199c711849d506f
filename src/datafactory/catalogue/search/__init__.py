"""Catalogue search: one interface (``base.SearchIndex``), one adapter per backend.

The catalogue service calls ``index_dataset`` when it publishes and ``remove`` when it
deletes, inside the same transaction, so the index never lags the catalogue. Pages and
APIs call ``search``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.schemas import DatasetDraft, DatasetStatus
from datafactory.catalogue.search import entries, store
from datafactory.catalogue.search.base import (
    FACETS,
    Entry,
    Facet,
    FacetValue,
    SearchIndex,
    SearchQuery,
    SearchResult,
    Sort,
)
from datafactory.catalogue.search.postgresql import PostgresIndex
from datafactory.catalogue.search.sqlite import SqliteIndex
from datafactory.core.db import unit_of_work

__all__ = [
    "FACETS",
    "Facet",
    "FacetValue",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
    "Sort",
    "backend",
    "datasets",
    "index_dataset",
    "indexed_count",
    "published",
    "reindex",
    "remove",
    "search",
    "values_of",
]


def backend(session: Session) -> SearchIndex:
    """The adapter for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return PostgresIndex()
    return SqliteIndex()


def index_dataset(
    session: Session, dataset: Dataset, meta: DatasetDraft, *, first: bool = False
) -> None:
    """(Re)index the published metadata ``meta`` of ``dataset``; drafts are never indexed.

    ``first``: the dataset has never been published, so it has no entry to remove (a
    harvest publishes thousands of new datasets: the lookup is saved for each).
    """
    if not first:
        remove(session, dataset.id)
    if dataset.status != DatasetStatus.published.value:
        return
    titles, bodies = entries.texts(meta)
    entry = Entry(
        doc_id=0,
        dataset_id=dataset.id,
        publisher_id=dataset.publisher_id,
        modified_at=dataset.published_at or dataset.modified_at,
        titles=titles,
        bodies=bodies,
        facets=entries.facet_values(meta, entries.publisher_slug(session, dataset)),
    )
    doc_id, tokens = store.insert_document(session, entry, entries.sort_titles(meta))
    entry = replace(
        entry, doc_id=doc_id, tokens=tokens + entries.sample_tokens(dataset.id)
    )
    backend(session).write_text(session, entry)


def remove(session: Session, dataset_id: str) -> None:
    doc_id = store.doc_id_of(session, dataset_id)
    if doc_id is not None:
        backend(session).remove_text(session, doc_id)
        store.delete_document(session, doc_id)


def reindex(
    sessions: sessionmaker[Session],
    *,
    chunk: int = 500,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> int:
    """Rebuild the entry of every published dataset from its published metadata; returns
    how many were indexed.

    For an operator after a change to how entries are made (tokens, accent folding,
    facets): entries written before keep their old terms until the dataset is published
    again. Each chunk is one transaction and each entry is replaced whole, so a run that
    stops half-way leaves every dataset findable, by its old entry or by its new one.
    """
    with unit_of_work(sessions) as session:
        ids = list(
            session.scalars(
                select(Dataset.id)
                .where(Dataset.status == DatasetStatus.published.value)
                .order_by(Dataset.id)
            )
        )
    for start in range(0, len(ids), chunk):
        with unit_of_work(sessions) as session:
            for dataset, meta in published(session, ids[start : start + chunk]):
                index_dataset(session, dataset, meta)
        progress(min(start + chunk, len(ids)), len(ids))
    return len(ids)


def indexed_count(session: Session) -> int:
    """How many datasets have an entry."""
    return session.scalar(select(func.count()).select_from(store.documents)) or 0


def search(session: Session, query: SearchQuery) -> SearchResult:
    counts = store.run(session, backend(session), query)
    pairs = [(f, v) for f, values in counts.facets.items() for v in values]
    for facet, values in query.filters.items():
        pairs += [(facet, entries.normalise_filter(facet, v)) for v in values]
    labels = entries.labels(session, pairs, query.lang)
    facets = tuple(
        Facet(name, _values(name, counts.facets.get(name, {}), query, labels))
        for name in FACETS
    )
    return SearchResult(
        counts.items,
        counts.total,
        facets,
        counts.total_approximate,
        counts.facets_approximate,
    )


def datasets(session: Session, ids: Sequence[str]) -> list[Dataset]:
    """The published datasets with these ids, in the same order."""
    found = {
        d.id: d
        for d in session.scalars(
            select(Dataset).where(
                Dataset.id.in_(ids), Dataset.status == DatasetStatus.published.value
            )
        )
    }
    return [found[i] for i in ids if i in found]


def published(
    session: Session, ids: Sequence[str]
) -> list[tuple[Dataset, DatasetDraft]]:
    """The published datasets with these ids, in the same order, each with its published
    metadata: two queries for a whole page, where ``service.metadata_of`` takes one each.
    """
    rows = session.execute(
        select(Dataset, DatasetVersion.document)
        .join(
            DatasetVersion,
            and_(
                DatasetVersion.dataset_id == Dataset.id,
                DatasetVersion.number == Dataset.version,
            ),
        )
        .where(Dataset.id.in_(ids), Dataset.status == DatasetStatus.published.value)
    )
    found = {row[0].id: (row[0], row[1]) for row in rows}
    return [
        (found[i][0], DatasetDraft.model_validate(found[i][1]))
        for i in ids
        if i in found
    ]


def values_of(session: Session, facet: str, contains: str = "") -> list[str]:
    """Every value of one facet across the published datasets (CKAN's tag_list)."""
    return store.values_of(session, facet, contains)


def _values(
    name: str,
    counted: Mapping[str, int],
    query: SearchQuery,
    labels: dict[tuple[str, str], str],
) -> tuple[FacetValue, ...]:
    selected = {entries.normalise_filter(name, v) for v in query.filters.get(name, ())}
    values = [
        FacetValue(v, labels.get((name, v), v), n, v in selected)
        for v, n in counted.items()
    ]
    values += [
        FacetValue(v, labels.get((name, v), v), 0, True)
        for v in sorted(selected - set(counted))
    ]
    return tuple(values)
