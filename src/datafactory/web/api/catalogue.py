"""The catalogue's native API, persistent identifiers and RDF exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from datafactory.catalogue import export, rdf, search, service
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import (
    DatasetDraft,
    DatasetPage,
    DatasetPublic,
    DatasetStatus,
)
from datafactory.core.errors import NotFound
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.search_params import SearchQueryDep

router = APIRouter(tags=["catalogue"])
Anyone = Annotated[Actor, Depends(allow("catalogue.view"))]


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publisher_id: int
    metadata: DatasetDraft


class DatasetDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


def public(
    session: SessionDep,
    dataset: Dataset,
    base_url: str,
    *,
    draft: bool,
    metadata: DatasetDraft | None = None,
) -> DatasetPublic:
    """``metadata``: the metadata to show, when the caller loaded it already."""
    return DatasetPublic(
        id=dataset.id,
        uri=str(rdf.dataset_uri(base_url, dataset.id)),
        status=DatasetStatus(dataset.status),
        publisher=str(dataset.publisher_id),
        version=dataset.version,
        metadata=metadata or service.metadata_of(session, dataset, draft=draft),
        created_at=dataset.created_at,
        modified_at=dataset.modified_at,
        published_at=dataset.published_at,
    )


class FacetValueOut(BaseModel):
    value: str
    label: str
    count: int
    selected: bool


class DatasetSearchPage(DatasetPage):
    facets: dict[str, list[FacetValueOut]]
    total_approximate: bool = Field(
        False, description="total is estimated from a sample (large result sets)."
    )
    facets_approximate: bool = Field(
        False, description="Facet counts are estimated from a sample of the matches."
    )


@router.get("/api/v1/datasets")
def list_datasets(
    session: SessionDep,
    settings: SettingsDep,
    _actor: Anyone,
    query: SearchQueryDep,
) -> DatasetSearchPage:
    """Search the published datasets: words, facet filters, a sort, a page."""
    result = search.search(session, query)
    return DatasetSearchPage(
        items=[
            public(session, d, settings.base_url, draft=False, metadata=meta)
            for d, meta in search.published(session, result.items)
        ],
        total=result.total,
        facets={
            f.name: [FacetValueOut(**vars(v)) for v in f.values] for f in result.facets
        },
        total_approximate=result.total_approximate,
        facets_approximate=result.facets_approximate,
    )


@router.post("/api/v1/datasets", status_code=status.HTTP_201_CREATED)
def create_dataset(
    body: DatasetCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(allow("catalogue.dataset.create"))],
) -> DatasetPublic:
    dataset = service.create_dataset(
        session, actor, publisher_id=body.publisher_id, metadata=body.metadata
    )
    return public(session, dataset, settings.base_url, draft=True)


@router.get("/api/v1/datasets/{dataset_id}")
def show_dataset(
    dataset_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
    draft: bool = False,
) -> DatasetPublic:
    dataset = service.get_dataset(session, actor, dataset_id)
    if draft:
        service.ensure_may_edit(actor, dataset)
    return public(session, dataset, settings.base_url, draft=draft)


@router.patch("/api/v1/datasets/{dataset_id}")
def edit_dataset(
    dataset_id: str,
    changes: dict[str, object],
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(allow("catalogue.dataset.edit"))],
) -> DatasetPublic:
    dataset = service.edit_dataset(
        session, actor, dataset_id=dataset_id, changes=changes
    )
    return public(session, dataset, settings.base_url, draft=True)


@router.post("/api/v1/datasets/{dataset_id}/publish")
def publish_dataset(
    dataset_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[Actor, Depends(allow("catalogue.dataset.publish"))],
) -> DatasetPublic:
    service.publish_dataset(
        session, actor, dataset_id=dataset_id, base_url=settings.base_url
    )
    dataset = service.get_dataset(session, actor, dataset_id)
    return public(session, dataset, settings.base_url, draft=False)


@router.delete("/api/v1/datasets/{dataset_id}", status_code=204)
def delete_dataset(
    dataset_id: str,
    body: DatasetDeletion,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("catalogue.dataset.delete"))],
) -> Response:
    service.delete_dataset(session, actor, dataset_id=dataset_id, reason=body.reason)
    return Response(status_code=204)


@router.get("/api/v1/datasets/{dataset_id}/versions/{number}")
def show_version(
    dataset_id: str, number: int, session: SessionDep, actor: Anyone
) -> DatasetDraft:
    version = service.get_version(session, actor, dataset_id, number)
    return DatasetDraft.model_validate(version.document)


@router.get(
    "/id/dataset/{dataset_id}", summary="Persistent identifier, content-negotiated."
)
def dataset_identifier(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
) -> Response:
    dataset = service.get_dataset(session, actor, dataset_id)
    extension = export.negotiate(request.headers.get("accept", "text/html"))
    if extension is None:
        return RedirectResponse(f"/datasets/{dataset.id}", status_code=303)
    document = export.dataset_document(
        session, dataset, base_url=settings.base_url, extension=extension
    )
    return Response(
        document.body, media_type=document.media_type, headers={"Vary": "Accept"}
    )


@router.get(
    "/catalogue.{extension}", summary="The whole catalogue as RDF, Hydra-paged."
)
def catalogue_export(
    extension: str,
    session: SessionDep,
    settings: SettingsDep,
    _actor: Anyone,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    profile: str = export.PROFILES[0],
) -> Response:
    if extension not in export.FORMATS:
        raise NotFound(f"No export as .{extension}; use ttl, jsonld, rdf or nt.")
    document = export.catalogue_page(
        session,
        base_url=settings.base_url,
        page=page,
        page_size=page_size,
        extension=extension,
        profile=profile,
    )
    return Response(document.body, media_type=document.media_type)
