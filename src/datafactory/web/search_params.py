"""The query strings of catalogue searches, shared by the native API and the pages.

Datasets: ``?q=words&theme=SOCI&theme=ECON&publisher=statec&open=true&sort=modified&page=2``;
each facet may repeat (values of one facet are OR-ed, facets are AND-ed). Data services and
dataset series: ``?q=words&page=2``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from datafactory.catalogue import records
from datafactory.catalogue.models import CatalogueRecord
from datafactory.catalogue.schemas import RecordKind
from datafactory.catalogue.search import SearchQuery, Sort
from datafactory.web.i18n import current_language

Values = Annotated[list[str] | None, Query(max_length=500)]


def search_query(
    q: Annotated[
        str, Query(max_length=2000, description="Words; all must match.")
    ] = "",
    publisher: Values = None,
    theme: Values = None,
    format: Values = None,
    licence: Values = None,
    access_rights: Values = None,
    language: Values = None,
    hvd_category: Values = None,
    open: Annotated[bool | None, Query(description="true: open data only.")] = None,
    keyword: Values = None,
    sort: Sort = Sort.RELEVANCE,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> SearchQuery:
    given = {
        "publisher": publisher,
        "theme": theme,
        "format": format,
        "licence": licence,
        "access_rights": access_rights,
        "language": language,
        "hvd_category": hvd_category,
        "open": None if open is None else ["true" if open else "false"],
        "keyword": keyword,
    }
    filters = {k: tuple(v) for k, v in given.items() if v}
    return SearchQuery(
        text=q,
        filters=MappingProxyType(filters),
        sort=sort,
        page=page,
        page_size=page_size,
        lang=current_language.get(),
    )


SearchQueryDep = Annotated[SearchQuery, Depends(search_query)]


class RecordQuery(BaseModel):
    """Which published records to list: words, and a page."""

    q: str = Field(
        "",
        max_length=2000,
        description="Words; a record matches when it has a word starting with each, "
        "in any language, accents and case aside.",
    )
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=1000)

    def listed(
        self, session: Session, kind: RecordKind
    ) -> tuple[list[CatalogueRecord], int]:
        return records.list_published(
            session,
            kind,
            q=self.q,
            offset=(self.page - 1) * self.page_size,
            limit=self.page_size,
        )


RecordQueryDep = Annotated[RecordQuery, Query()]
