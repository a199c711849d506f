"""Catalogue pages: the list of published datasets and one dataset's page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from datafactory.catalogue import service
from datafactory.catalogue.schemas import pick
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("pages")
Anyone = Annotated[Actor, Depends(allow("catalogue.view"))]
PAGE_SIZE = 20


@router.get("/datasets")
def datasets_page(
    request: Request,
    session: SessionDep,
    _actor: Anyone,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Any:
    items, total = service.list_published(
        session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    lang = current_language.get()
    rows = [
        {"id": d.id, "meta": service.metadata_of(session, d), "version": d.version}
        for d in items
    ]
    context = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "pick": lambda text: pick(text, lang),
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
    context = {
        "dataset": dataset,
        "meta": service.metadata_of(session, dataset),
        "uri": f"{settings.base_url.rstrip('/')}/id/dataset/{dataset.id}",
        "pick": lambda text: pick(text, lang),
    }
    return render(request, "dataset.html", context)
