"""The query string of a catalogue search, shared by the native API and the /datasets page.

``?q=words&theme=SOCI&theme=ECON&publisher=statec&open=true&sort=modified&page=2``: each
facet may repeat (values of one facet are OR-ed, facets are AND-ed).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated

from fastapi import Depends, Query

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
