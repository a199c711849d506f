"""Pages of data services and dataset series: a list of each and one record's page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from datafactory.catalogue import records, service
from datafactory.catalogue.models import CatalogueRecord, Dataset
from datafactory.catalogue.schemas import RecordKind, pick
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.pages import page_router
from datafactory.web.search_params import RecordQuery, RecordQueryDep
from datafactory.web.templating import render

router = page_router("pages")
Anyone = Annotated[Actor, Depends(allow("catalogue.view"))]
PATHS = {RecordKind.service: "services", RecordKind.series: "series"}


def titled_datasets(session: Session, datasets: list[Dataset]) -> list[dict[str, Any]]:
    lang = current_language.get()
    return [
        {"id": d.id, "title": pick(service.metadata_of(session, d).title, lang)}
        for d in datasets
    ]


def titled_records(
    session: Session, rows: list[CatalogueRecord]
) -> list[dict[str, Any]]:
    lang = current_language.get()
    return [
        {
            "id": r.id,
            "path": PATHS[RecordKind(r.kind)],
            "title": pick(records.metadata_of(session, r).title, lang),
            "description": pick(records.metadata_of(session, r).description, lang),
        }
        for r in rows
    ]


def _list(
    request: Request, session: Session, kind: RecordKind, query: RecordQuery
) -> Any:
    rows, total = query.listed(session, kind)
    path = PATHS[kind]

    def page_link(number: int) -> str:
        kept = {"q": query.q, "page": number, "page_size": query.page_size}
        return f"/{path}?" + urlencode(kept)

    return render(
        request,
        "catalogue_records.html",
        {
            "kind": kind.value,
            "path": path,
            "rows": titled_records(session, rows),
            "total": total,
            "q": query.q,
            "page": query.page,
            "pages": max(1, -(-total // query.page_size)),
            "page_link": page_link,
        },
    )


@router.get("/services")
def services_page(
    request: Request, session: SessionDep, _actor: Anyone, query: RecordQueryDep
) -> Any:
    """The published data services (APIs and endpoints): words, pages."""
    return _list(request, session, RecordKind.service, query)


@router.get("/series")
def series_list_page(
    request: Request, session: SessionDep, _actor: Anyone, query: RecordQueryDep
) -> Any:
    """The published dataset series: words, pages."""
    return _list(request, session, RecordKind.series, query)


def also_matching(session: Session, q: str) -> list[dict[str, Any]]:
    """For a search of datasets: how many services and series the same words find."""
    if not q.strip():
        return []
    found = []
    for kind, path in PATHS.items():
        _rows, total = records.list_published(session, kind, q=q, limit=0)
        if total:
            found.append(
                {
                    "kind": kind.value,
                    "total": total,
                    "href": f"/{path}?" + urlencode({"q": q}),
                }
            )
    return found


def _record_page(
    request: Request,
    session: Session,
    base_url: str,
    actor: Actor,
    kind: RecordKind,
    record_id: str,
) -> Any:
    record = records.get_record(session, actor, kind, record_id)
    lang = current_language.get()
    meta = records.metadata_of(session, record)
    context: dict[str, Any] = {
        "kind": kind.value,
        "record": record,
        "meta": meta,
        "uri": f"{base_url.rstrip('/')}/id/{kind.value}/{record.id}",
        "pick": lambda text: pick(text, lang),
        "publisher": session.get(Organisation, record.publisher_id),
        "may_edit": policy.allowed(actor, "catalogue.dataset.edit", record),
        "datasets": titled_datasets(
            session,
            records.series_members(session, record)
            if kind is RecordKind.series
            else records.find_datasets(session, records.record_refs(meta)),
        ),
        "external": [
            ref
            for ref in records.record_refs(meta)
            if "://" in ref and not records.links_for(session, [ref], base_url)
        ],
    }
    return render(request, "catalogue_record.html", context)


@router.get("/services/{service_id}")
def service_page(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
) -> Any:
    return _record_page(
        request, session, settings.base_url, actor, RecordKind.service, service_id
    )


@router.get("/series/{series_id}")
def series_page(
    series_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
) -> Any:
    return _record_page(
        request, session, settings.base_url, actor, RecordKind.series, series_id
    )
