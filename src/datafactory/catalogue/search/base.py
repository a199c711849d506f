"""The search interface every backend implements, and the query model they share.

A query is words (all must match, in any language of the texts; case and accents do not
matter), facet filters (values of one facet are OR-ed, facets are AND-ed), one sort and a
page. Words are extracted from the user's text here, once, so no backend ever sees query
syntax from the user: quotes, ``*``, ``NEAR(`` or ``--`` are only separators.

A backend answers questions about a ``Match`` (words, facet tokens, the title tier): its
documents' ids in an order, their facet tokens, how many there are. ``store`` turns a
``SearchQuery`` into those questions (docs/search.md, "How a search runs").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Literal, Protocol

from sqlalchemy.orm import Session

#: The facets, in the order pages show them.
FACETS: tuple[str, ...] = (
    "publisher",
    "theme",
    "format",
    "licence",
    "access_rights",
    "language",
    "hvd_category",
    "open",
    "keyword",
)
MAX_WORDS = 16
MAX_WORD_LENGTH = 60
_WORD = re.compile(r"\w+", re.UNICODE)


class Sort(StrEnum):
    RELEVANCE = "relevance"
    MODIFIED = "modified"
    TITLE = "title"


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    sort: Sort = Sort.RELEVANCE
    page: int = 1
    page_size: int = 20
    lang: str = "en"
    """The reader's language: for sorting by title and for facet labels."""
    start: int | None = None
    """An offset that overrides ``page`` (CKAN's ``start`` need not fall on a page)."""

    def __post_init__(self) -> None:
        unknown = set(self.filters) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown facets {sorted(unknown)}; known: {FACETS}")
        if self.page < 1 or not 1 <= self.page_size <= 1000:
            raise ValueError("page starts at 1 and page_size is 1 to 1000")

    @property
    def words(self) -> tuple[str, ...]:
        return words_of(self.text)

    @property
    def offset(self) -> int:
        if self.start is not None:
            return max(0, self.start)
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass(frozen=True)
class Facet:
    name: str
    values: tuple[FacetValue, ...]


@dataclass(frozen=True)
class SearchResult:
    items: tuple[str, ...]
    """Dataset ids of the page, in order."""
    total: int
    facets: tuple[Facet, ...]
    total_approximate: bool = False
    """``total`` is an estimate from a sample (large result sets on PostgreSQL)."""
    facets_approximate: bool = False
    """Facet counts are estimates from a sample of the matches (large result sets)."""


@dataclass(frozen=True)
class Entry:
    """What the index keeps of one published dataset."""

    doc_id: int
    dataset_id: str
    publisher_id: int
    modified_at: datetime
    titles: Mapping[str, str]
    """Language -> title, for that language's column of text."""
    bodies: Mapping[str, str]
    """Language -> description and keywords."""
    facets: tuple[tuple[str, str], ...]
    tokens: tuple[str, ...] = ()
    """Facet tokens (``b12``: theme value 12) and sample tokens (``s256``) to match on."""


@dataclass(frozen=True)
class Counts:
    """What ``store`` answers before labels: ids, total, raw facet counts."""

    items: tuple[str, ...]
    total: int
    facets: Mapping[str, Mapping[str, int]]
    total_approximate: bool = False
    facets_approximate: bool = False


Tier = Literal["any", "title", "not_title"]


@dataclass(frozen=True)
class Match:
    """The documents a backend is asked about.

    Every word must match (title, description or keywords, any language); ``tier``
    narrows that to "every word in the title" or to "not every word in the title".
    ``groups`` are facet (and sample) tokens: one token of each group must be there.
    """

    words: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()
    tier: Tier = "any"

    def having(self, token: str) -> Match:
        return Match(self.words, (*self.groups, (token,)), self.tier)

    def in_tier(self, tier: Tier) -> Match:
        return Match(self.words, self.groups, tier)


#: One matching document as a backend answers it: (doc id, facet tokens, dataset id,
#: whether every word is in its title). None where it would cost the backend a lookup:
#: ``store`` looks the tokens up with ``facets_of``, and pages with SQL.
Candidate = tuple[int, str | None, str | None, bool | None]


class SearchIndex(Protocol):
    """One adapter per backend (STYLE.md section 7): write the text index, query it.

    ``match`` never is empty (no words and no groups): ``store`` answers that one from
    its own tables.
    """

    def write_text(self, session: Session, entry: Entry) -> None: ...

    def remove_text(self, session: Session, doc_id: int) -> None: ...

    def rows(
        self, session: Session, match: Match, limit: int | None
    ) -> list[Candidate]:
        """Up to ``limit`` (or all) matching documents, in any order."""
        ...

    def facets_of(self, session: Session, doc_ids: list[int]) -> dict[int, str]:
        """The facet tokens of these documents."""
        ...

    def count(self, session: Session, match: Match) -> int: ...

    def estimate(self, session: Session, match: Match) -> int | None:
        """A quick guess at ``count``, or None where fetching up to 10,001 matches
        costs no more than guessing (an index that streams its matches)."""
        ...

    def newest(
        self, session: Session, match: Match, offset: int, limit: int, small: bool
    ) -> list[int]:
        """Matching doc ids, highest (most recently published) first.

        ``small``: the match set is known to have at most 10,000 documents.
        """
        ...

    def by_title(
        self,
        session: Session,
        match: Match,
        column: str,
        offset: int,
        limit: int,
        small: bool,
    ) -> list[int]:
        """Matching doc ids ordered by the sort-key column ``column``, then id."""
        ...


def unaccent(text: str) -> str:
    """Case-folded, without diacritics: "Électricité" -> "electricite"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> tuple[str, ...]:
    """The words of ``text``, folded as ``unaccent``; everything else is a separator."""
    found = (w for w in _WORD.findall(unaccent(text or "")))
    return tuple(w[:MAX_WORD_LENGTH] for w in found if w.strip("_"))[:MAX_WORDS]
