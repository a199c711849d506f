"""Catalogue pages: the list of published datasets and one dataset's page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from datafactory.catalogue import publishers, records, search, service
from datafactory.catalogue.models import CatalogueRecord
from datafactory.catalogue.products import service as products
from datafactory.catalogue.quality import citations, scoring
from datafactory.catalogue.schemas import DatasetStatus, RecordKind, pick
from datafactory.catalogue.search import Sort
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.pages import catalogue_records, page_router
from datafactory.web.search_params import SearchQueryDep
from datafactory.web.templating import render

router = page_router("pages")
Anyone = Annotated[Actor, Depends(allow("catalogue.view"))]


@router.get("/datasets")
def datasets_page(
    request: Request,
    session: SessionDep,
    _actor: Anyone,
    query: SearchQueryDep,
) -> Any:
    """Search the catalogue: words, facet checkboxes, a sort, pages."""
    result = search.search(session, query)
    lang = current_language.get()
    rows = [
        {"id": d.id, "meta": service.metadata_of(session, d), "version": d.version}
        for d in search.datasets(session, result.items)
    ]

    def page_link(number: int) -> str:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        return "/datasets?" + urlencode([*kept, ("page", str(number))])

    context = {
        "rows": rows,
        "total": result.total,
        "total_approximate": result.total_approximate,
        "facets_approximate": result.facets_approximate,
        "query": query,
        "facets": [f for f in result.facets if f.values],
        "sorts": [s.value for s in Sort],
        "page": query.page,
        "pages": max(1, -(-result.total // query.page_size)),
        "page_link": page_link,
        "pick": lambda text: pick(text, lang),
        "also": catalogue_records.also_matching(session, query.text),
    }
    return render(request, "datasets.html", context)


@router.get("/datasets/{dataset_id}")
def dataset_page(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
) -> Any:
    dataset = service.get_dataset(session, actor, dataset_id)
    lang = current_language.get()
    meta = service.metadata_of(session, dataset)
    published = dataset.status == DatasetStatus.published.value
    quality = (
        scoring.dataset_quality(session, actor, dataset.id, base_url=settings.base_url)
        if published
        else None
    )
    context = {
        "dataset": dataset,
        "meta": meta,
        "uri": f"{settings.base_url.rstrip('/')}/id/dataset/{dataset.id}",
        "pick": lambda text: pick(text, lang),
        "quality": quality,
        "dimensions": scoring.dimensions_of(quality) if quality else {},
        "dimension_max": scoring.DIMENSION_MAX,
        "citations": _citations(session, actor, dataset.id, settings.base_url, lang)
        if published
        else {},
        "products": products.products_of_dataset(session, actor, dataset.id),
        "restricted": meta.access_rights is not None
        and meta.access_rights != PUBLIC_ACCESS,
        "publisher": publishers.publisher_of(session, dataset),
        "may_edit": policy.allowed(actor, "catalogue.dataset.edit", dataset),
        "in_series": _titled(
            session,
            records.find_records(session, RecordKind.series, meta.in_series),
            lang,
        ),
        "served_by": _titled(
            session,
            list(
                {
                    r.id: r
                    for r in [
                        *records.services_serving(session, dataset),
                        *records.find_records(
                            session,
                            RecordKind.service,
                            (s for d in meta.distributions for s in d.access_services),
                        ),
                    ]
                }.values()
            ),
            lang,
        ),
    }
    return render(request, "dataset.html", context)


def _titled(
    session: Session, rows: list[CatalogueRecord], lang: str
) -> list[tuple[str, str, str]]:
    """(path, id, title) of published data services or dataset series, for links."""
    return [
        (
            "services" if r.kind == RecordKind.service.value else "series",
            r.id,
            pick(records.metadata_of(session, r).title, lang),
        )
        for r in rows
    ]


PUBLIC_ACCESS = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"


def _citations(
    session: Session, actor: Actor, dataset_id: str, base_url: str, lang: str
) -> dict[str, tuple[str, str]]:
    """Each citation format's label and text, for the dataset page's Cite box."""
    record = citations.citation_record(
        session, actor, dataset_id, base_url=base_url, lang=lang
    )
    return {
        key: (chosen.label, chosen.render(record))
        for key, chosen in citations.FORMATS.items()
    }
