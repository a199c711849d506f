"""The tables both backends share, and how a search runs on any backend.

``search_documents`` has one row per published dataset. Its id is the publication time
in microseconds (bumped by one on a tie), so "newest first" is simply "highest id first",
an order both text indexes can walk without sorting. ``search_facet_values`` numbers each
(facet, value) and keeps how many documents carry it: the facet counts of the whole
catalogue, and the tokens (``b12``) backends match filters with.

A search asks the backend (``base.SearchIndex``) for a page of ids walked in order, and
counts facets over the matching documents' tokens when there are at most
``EXACT_LIMIT`` of them; over a sample of them (sample tokens, 1 in n documents) when
there are more. docs/search.md says what is exact and what is estimated.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from datafactory.catalogue.schemas import LANGUAGES
from datafactory.catalogue.search.base import (
    FACETS,
    Candidate,
    Counts,
    Entry,
    Match,
    SearchIndex,
    SearchQuery,
    Sort,
)
from datafactory.catalogue.search.entries import (
    FACET_OF_LETTER,
    SAMPLE_LEVELS,
    facet_token,
    normalise_filter,
)
from datafactory.core.db import Base, UTCDateTime

#: How many values of one facet come back, the most frequent first.
FACET_LIMIT = 50
#: Up to this many matching documents, the total is exact (and facet counts, mostly).
EXACT_LIMIT = 10_000
#: Beyond it, both are estimated from a sample of at most this many documents.
SAMPLE_SIZE = 2_000
#: Facet tokens looked up for at most this many documents (when a backend does not
#: return them with the matches): beyond it, a random subset of this size is counted.
LOOKUP_LIMIT = 2_000
#: The sample level counted to size a large result set (when the backend cannot guess).
PROBE_LEVEL = 1024

documents = Table(
    "search_documents",
    Base.metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer(), "sqlite"),  # SQLite: the rowid itself
        primary_key=True,
        autoincrement=False,
    ),
    Column(
        "dataset_id",
        String(16),
        ForeignKey("datasets.id", ondelete="CASCADE"),
        unique=True,
        nullable=False,
    ),
    Column("publisher_id", Integer, nullable=False),
    Column("modified_at", UTCDateTime(timezone=True), nullable=False),
    *(Column(f"title_{lang}", String(300), nullable=False) for lang in LANGUAGES),
    Column("facets", Text, nullable=False, default=""),
    *(
        Index(f"ix_search_documents_title_{lang}", f"title_{lang}", "id")
        for lang in LANGUAGES
    ),
)
facet_values = Table(
    "search_facet_values",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("facet", String(32), nullable=False),
    Column("value", String(500), nullable=False),
    Column("documents", Integer, nullable=False, default=0),
    UniqueConstraint("facet", "value", name="uq_search_facet_values"),
)
Index(
    "ix_search_facet_values_top",
    facet_values.c.facet,
    facet_values.c.documents.desc(),
    facet_values.c.id,
)

TITLE_COLUMNS = frozenset(f"title_{lang}" for lang in LANGUAGES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


# -- writing -------------------------------------------------------------------------


def doc_id_of(session: Session, dataset_id: str) -> int | None:
    return session.scalar(
        select(documents.c.id).where(documents.c.dataset_id == dataset_id)
    )


def insert_document(
    session: Session, entry: Entry, titles: Mapping[str, str]
) -> tuple[int, tuple[str, ...]]:
    """Store ``entry``'s row and count its facet values; answer its id and facet tokens."""
    ids = _value_ids(session, entry.facets)
    tokens = tuple(facet_token(f, ids[(f, v)]) for f, v in entry.facets)
    _add_to_counts(session, [ids[p] for p in entry.facets], +1)
    doc_id = _free_id(session, _microseconds(entry.modified_at))
    session.execute(
        insert(documents).values(
            id=doc_id,
            dataset_id=entry.dataset_id,
            publisher_id=entry.publisher_id,
            modified_at=entry.modified_at,
            facets=" ".join(tokens),
            **{f"title_{lang}": titles[lang] for lang in LANGUAGES},
        )
    )
    return doc_id, tokens


def delete_document(session: Session, doc_id: int) -> None:
    tokens = session.scalar(select(documents.c.facets).where(documents.c.id == doc_id))
    _add_to_counts(session, [int(t[1:]) for t in (tokens or "").split()], -1)
    session.execute(delete(documents).where(documents.c.id == doc_id))


def _microseconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _free_id(session: Session, wanted: int) -> int:
    """``wanted``, or the next id up that no document has (two in the same microsecond)."""
    taken = set(
        session.scalars(
            select(documents.c.id).where(documents.c.id.between(wanted, wanted + 99))
        )
    )
    while wanted in taken:
        wanted += 1
    return wanted if len(taken) < 100 else _free_id(session, wanted)


def _value_ids(
    session: Session, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    known = _ids_seen(session)
    wanted = [p for p in pairs if p not in known]
    if wanted:
        found = _known_ids(session, wanted)
        missing = [p for p in wanted if p not in found]
        if missing:
            dialect = postgresql if _dialect(session) == "postgresql" else sqlite
            session.execute(
                dialect.insert(facet_values).on_conflict_do_nothing(),
                [{"facet": f, "value": v, "documents": 0} for f, v in missing],
            )
            found |= _known_ids(session, missing)
        known.update(found)
    return {p: known[p] for p in pairs}


_IDS_KEY = "datafactory.search.value_ids"


def _ids_seen(session: Session) -> dict[tuple[str, str], int]:
    """The value ids this transaction has already looked up (a batch of publications
    shares most of its facet values). A row of ``search_facet_values`` is never deleted,
    so an id stays right to the end of the transaction, unless the savepoint that
    inserted it rolls back: any rollback forgets them all (:func:`_forget_ids`)."""
    seen = session.info.get(_IDS_KEY)
    transaction = session.get_transaction()
    if seen is None or seen[0] is not transaction:
        seen = session.info[_IDS_KEY] = (transaction, {})
    return cast(dict[tuple[str, str], int], seen[1])


@event.listens_for(Session, "after_soft_rollback")
def _forget_ids(session: Session, _previous: object) -> None:
    session.info.pop(_IDS_KEY, None)


def _known_ids(
    session: Session, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    by_facet: dict[str, set[str]] = defaultdict(set)
    for facet, value in pairs:
        by_facet[facet].add(value)
    if not by_facet:
        return {}
    rows = session.execute(
        select(facet_values.c.id, facet_values.c.facet, facet_values.c.value).where(
            or_(
                *(
                    and_(
                        facet_values.c.facet == f, facet_values.c.value.in_(sorted(vs))
                    )
                    for f, vs in by_facet.items()
                )
            )
        )
    )
    return {(r.facet, r.value): r.id for r in rows}


def _add_to_counts(session: Session, value_ids: list[int], step: int) -> None:
    if value_ids:  # in id order, so concurrent publications lock rows alike
        session.execute(
            update(facet_values)
            .where(facet_values.c.id.in_(sorted(set(value_ids))))
            .values(documents=facet_values.c.documents + step)
        )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def fetch_all(
    session: Session, sql: str, params: Mapping[str, object]
) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the DB-API cursor of the session's connection, in its transaction.

    For the few queries that answer thousands of rows: no Row objects, no type
    processing. ``sql`` is in the driver's parameter style.
    """
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


# -- searching -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Tally:
    total: int
    facets: dict[str, dict[str, int]]
    total_approximate: bool = False
    facets_approximate: bool = False
    matches: list[Candidate] | None = None
    """Every match, when they were all fetched (at most ``EXACT_LIMIT``)."""


def run(session: Session, index: SearchIndex, query: SearchQuery) -> Counts:
    """The page of ids, the total and the facet counts of ``query``."""
    groups = _filter_groups(session, query)
    if groups is None:  # a filter value no document has ever had
        return Counts((), 0, {})
    match = Match(query.words, groups)
    if not match.words and not match.groups:
        return _everything(session, query)
    tally = _tally(session, index, match, _kept_total(session, match))
    items = _page(session, index, match, query, tally) if tally.total else ()
    total = tally.total
    if items and tally.total_approximate:
        total = max(total, query.offset + len(items))
    return Counts(
        items, total, tally.facets, tally.total_approximate, tally.facets_approximate
    )


def _filter_groups(
    session: Session, query: SearchQuery
) -> tuple[tuple[str, ...], ...] | None:
    wanted = {
        facet: sorted({normalise_filter(facet, v) for v in values if v.strip()})
        for facet, values in query.filters.items()
    }
    wanted = {facet: values for facet, values in wanted.items() if values}
    ids = _known_ids(session, [(f, v) for f, values in wanted.items() for v in values])
    groups = []
    for facet in FACETS:
        if facet in wanted:
            tokens = [
                facet_token(facet, ids[(facet, v)])
                for v in wanted[facet]
                if (facet, v) in ids
            ]
            if not tokens:
                return None
            groups.append(tuple(tokens))
    return tuple(groups)


def _kept_total(session: Session, match: Match) -> int | None:
    """One facet value and nothing else: its count is kept, exact."""
    if match.words or len(match.groups) != 1 or len(match.groups[0]) != 1:
        return None
    value_id = int(match.groups[0][0][1:])
    return session.scalar(
        select(facet_values.c.documents).where(facet_values.c.id == value_id)
    )


def _tally(
    session: Session, index: SearchIndex, match: Match, kept_total: int | None
) -> _Tally:
    """Total and facet counts: exact up to ``EXACT_LIMIT`` matches, else estimated."""
    guess = kept_total if kept_total is not None else index.estimate(session, match)
    tried = guess is None or guess <= 2 * EXACT_LIMIT
    if tried:
        exact = _exact(session, index, match, kept_total)
        if exact is not None:
            return exact
        guess = None
    if guess is None:  # more than EXACT_LIMIT: how many more?
        probe = index.count(session, match.having(f"s{PROBE_LEVEL}"))
        guess = max(probe * PROBE_LEVEL, EXACT_LIMIT + 1)
    level = next(
        (n for n in SAMPLE_LEVELS if guess / n <= SAMPLE_SIZE), SAMPLE_LEVELS[-1]
    )
    sample = index.rows(session, match.having(f"s{level}"), None)
    if kept_total is not None:
        total, approximate = kept_total, False
    else:
        total, approximate = len(sample) * level, True
        if total <= EXACT_LIMIT and not tried:  # the guess was too high: look closer
            exact = _exact(session, index, match, kept_total)
            if exact is not None:
                return exact
        total = max(total, EXACT_LIMIT + 1)  # by now, there are more than that
    scale = total / len(sample) if sample else 0.0
    facets = _facet_counts(session, index, sample, scale)
    return _Tally(total, facets, approximate, True)


def _exact(
    session: Session, index: SearchIndex, match: Match, kept_total: int | None
) -> _Tally | None:
    """Every match fetched and counted; None if there are more than ``EXACT_LIMIT``."""
    rows = index.rows(session, match, EXACT_LIMIT + 1)
    if len(rows) > EXACT_LIMIT:
        return None
    total = len(rows) if kept_total is None else kept_total
    if len(rows) <= LOOKUP_LIMIT or all(r[1] is not None for r in rows):
        return _Tally(total, _facet_counts(session, index, rows), matches=rows)
    subset = random.Random(len(rows)).sample(rows, LOOKUP_LIMIT)
    facets = _facet_counts(session, index, subset, len(rows) / len(subset))
    return _Tally(total, facets, facets_approximate=True, matches=rows)


def _facet_counts(
    session: Session,
    index: SearchIndex,
    rows: Sequence[Candidate],
    scale: float | None = None,
) -> dict[str, dict[str, int]]:
    """Counts of the top values per facet among ``rows``' tokens (times ``scale``)."""
    missing = [r[0] for r in rows if r[1] is None]
    found = index.facets_of(session, missing) if missing else {}
    counted = Counter(
        " ".join(found.get(r[0], "") if r[1] is None else r[1] for r in rows).split()
    )
    top: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for token, n in sorted(counted.items(), key=lambda c: (-c[1], int(c[0][1:]))):
        facet = FACET_OF_LETTER.get(token[0])
        if facet is not None and len(top[facet]) < FACET_LIMIT:
            top[facet].append((int(token[1:]), n))
    ids = [value_id for values in top.values() for value_id, _ in values]
    values = {
        row.id: row.value
        for row in session.execute(
            select(facet_values.c.id, facet_values.c.value).where(
                facet_values.c.id.in_(ids)
            )
        )
    }
    return {
        facet: _ordered(
            (values[i], n if scale is None else max(1, round(n * scale)))
            for i, n in pairs
            if i in values
        )
        for facet, pairs in top.items()
    }


def _ordered(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    return dict(sorted(pairs, key=lambda p: (-p[1], p[0])))


def _page(
    session: Session,
    index: SearchIndex,
    match: Match,
    query: SearchQuery,
    tally: _Tally,
) -> tuple[str, ...]:
    offset, size = query.offset, query.page_size
    ranked = query.sort == Sort.RELEVANCE and bool(match.words)
    matches = tally.matches
    if (
        matches is not None
        and query.sort != Sort.TITLE
        and all(r[2] is not None for r in matches)
        and (not ranked or all(r[3] is not None for r in matches))
    ):
        # The backend answered every match with what the order needs: sort them here.
        if ranked:
            matches = sorted(matches, key=lambda r: (not r[3], -r[0]))
        else:
            matches = sorted(matches, key=lambda r: -r[0])
        return tuple(str(r[2]) for r in matches[offset : offset + size])
    small = matches is not None
    if query.sort == Sort.TITLE:
        column = _title_column(query)
        return _dataset_ids(
            session, index.by_title(session, match, column, offset, size, small)
        )
    if not ranked:
        return _dataset_ids(session, index.newest(session, match, offset, size, small))
    # Relevance: every word in the title first, then the rest; newest first in each.
    first = index.newest(session, match.in_tier("title"), offset, size, small)
    if len(first) < size:
        if first or not offset:
            in_first = offset + len(first)
        else:
            in_first = index.count(session, match.in_tier("title"))
        first += index.newest(
            session,
            match.in_tier("not_title"),
            max(0, offset - in_first),
            size - len(first),
            small,
        )
    return _dataset_ids(session, first)


def _title_column(query: SearchQuery) -> str:
    return f"title_{query.lang if query.lang in LANGUAGES else 'en'}"


def _everything(session: Session, query: SearchQuery) -> Counts:
    """No words, no filters: the kept counts, and a page straight off an index."""
    total = session.scalar(
        select(func.coalesce(func.sum(facet_values.c.documents), 0)).where(
            facet_values.c.facet == "open"
        )
    )
    if query.sort == Sort.TITLE:
        column = documents.c[_title_column(query)]
        order = [column.asc(), documents.c.id.asc()]
    else:
        order = [documents.c.id.desc()]
    items = session.scalars(
        select(documents.c.dataset_id)
        .order_by(*order)
        .offset(query.offset)
        .limit(query.page_size)
    )
    return Counts(tuple(items), int(total or 0), _kept_counts(session))


def _kept_counts(session: Session) -> dict[str, dict[str, int]]:
    per_facet = [
        select(facet_values.c.facet, facet_values.c.value, facet_values.c.documents)
        .where(facet_values.c.facet == facet, facet_values.c.documents > 0)
        .order_by(facet_values.c.documents.desc(), facet_values.c.id)
        .limit(FACET_LIMIT)
        .subquery()
        for facet in FACETS
    ]
    statement = union_all(*(select(*q.c) for q in per_facet))
    counts: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for facet, value, n in session.execute(statement):
        counts[facet].append((value, n))
    return {facet: _ordered(pairs) for facet, pairs in counts.items()}


def _dataset_ids(session: Session, doc_ids: Sequence[int]) -> tuple[str, ...]:
    if not doc_ids:
        return ()
    found = {
        row.id: row.dataset_id
        for row in session.execute(
            select(documents.c.id, documents.c.dataset_id).where(
                documents.c.id.in_(doc_ids)
            )
        )
    }
    return tuple(found[i] for i in doc_ids if i in found)


def values_of(session: Session, facet: str, contains: str = "") -> list[str]:
    """Every value of ``facet`` in the index (e.g. all keywords), sorted."""
    statement = select(facet_values.c.value).where(
        facet_values.c.facet == facet, facet_values.c.documents > 0
    )
    if contains:
        statement = statement.where(
            facet_values.c.value.contains(contains, autoescape=True)
        )
    return sorted(session.scalars(statement))
