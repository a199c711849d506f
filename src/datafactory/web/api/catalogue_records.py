"""Data services and dataset series: the steward's API and their persistent identifiers.

The same verbs and rules as for datasets: create a draft, edit it, publish it (SHACL
validation; 422 problem+json with one error per violation), withdraw it (410 tombstone).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from datafactory.catalogue import export, rdf, records
from datafactory.catalogue.models import CatalogueRecord
from datafactory.catalogue.schemas import (
    DataServiceDraft,
    DataServicePublic,
    DatasetSeriesDraft,
    DatasetSeriesPublic,
    DatasetStatus,
    RecordKind,
)
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.search_params import RecordQueryDep

router = APIRouter(tags=["catalogue"])
Anyone = Annotated[Actor, Depends(allow("catalogue.view"))]
Creator = Annotated[Actor, Depends(allow("catalogue.dataset.create"))]
Editor = Annotated[Actor, Depends(allow("catalogue.dataset.edit"))]
Publisher = Annotated[Actor, Depends(allow("catalogue.dataset.publish"))]
Remover = Annotated[Actor, Depends(allow("catalogue.dataset.delete"))]


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publisher_id: int
    metadata: DataServiceDraft


class SeriesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publisher_id: int
    metadata: DatasetSeriesDraft


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


class ServicePage(BaseModel):
    items: list[DataServicePublic]
    total: int


class SeriesPage(BaseModel):
    items: list[DatasetSeriesPublic]
    total: int


def service_out(
    session: SessionDep, record: CatalogueRecord, base_url: str, *, draft: bool
) -> DataServicePublic:
    metadata = records.metadata_of(session, record, draft=draft)
    assert isinstance(metadata, DataServiceDraft)
    return DataServicePublic(
        id=record.id,
        uri=str(rdf.record_uri(base_url, record.kind, record.id)),
        status=DatasetStatus(record.status),
        publisher=str(record.publisher_id),
        version=record.version,
        metadata=metadata,
        created_at=record.created_at,
        modified_at=record.modified_at,
        published_at=record.published_at,
    )


def series_out(
    session: SessionDep, record: CatalogueRecord, base_url: str, *, draft: bool
) -> DatasetSeriesPublic:
    metadata = records.metadata_of(session, record, draft=draft)
    assert isinstance(metadata, DatasetSeriesDraft)
    return DatasetSeriesPublic(
        id=record.id,
        uri=str(rdf.record_uri(base_url, record.kind, record.id)),
        status=DatasetStatus(record.status),
        publisher=str(record.publisher_id),
        version=record.version,
        metadata=metadata,
        members=[d.id for d in records.series_members(session, record)],
        created_at=record.created_at,
        modified_at=record.modified_at,
        published_at=record.published_at,
    )


# --- data services ------------------------------------------------------------------------

SERVICE = RecordKind.service


@router.get("/api/v1/services")
def list_services(
    session: SessionDep, settings: SettingsDep, _actor: Anyone, query: RecordQueryDep
) -> ServicePage:
    """The published data services: words, a page."""
    rows, total = query.listed(session, SERVICE)
    return ServicePage(
        items=[service_out(session, r, settings.base_url, draft=False) for r in rows],
        total=total,
    )


@router.post("/api/v1/services", status_code=status.HTTP_201_CREATED)
def create_service(
    body: ServiceCreate, session: SessionDep, settings: SettingsDep, actor: Creator
) -> DataServicePublic:
    record = records.create_record(
        session,
        actor,
        kind=SERVICE,
        publisher_id=body.publisher_id,
        metadata=body.metadata,
    )
    return service_out(session, record, settings.base_url, draft=True)


@router.get("/api/v1/services/{service_id}")
def show_service(
    service_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
    draft: bool = False,
) -> DataServicePublic:
    record = records.get_record(session, actor, SERVICE, service_id)
    if draft:
        records.ensure_may_edit(actor, record)
    return service_out(session, record, settings.base_url, draft=draft)


@router.patch("/api/v1/services/{service_id}")
def edit_service(
    service_id: str,
    changes: dict[str, object],
    session: SessionDep,
    settings: SettingsDep,
    actor: Editor,
) -> DataServicePublic:
    record = records.edit_record(
        session, actor, kind=SERVICE, record_id=service_id, changes=changes
    )
    return service_out(session, record, settings.base_url, draft=True)


@router.post("/api/v1/services/{service_id}/publish")
def publish_service(
    service_id: str, session: SessionDep, settings: SettingsDep, actor: Publisher
) -> DataServicePublic:
    records.publish_record(
        session,
        actor,
        kind=SERVICE,
        record_id=service_id,
        base_url=settings.base_url,
    )
    record = records.get_record(session, actor, SERVICE, service_id)
    return service_out(session, record, settings.base_url, draft=False)


@router.delete("/api/v1/services/{service_id}", status_code=204)
def delete_service(
    service_id: str, body: Withdrawal, session: SessionDep, actor: Remover
) -> Response:
    records.delete_record(
        session, actor, kind=SERVICE, record_id=service_id, reason=body.reason
    )
    return Response(status_code=204)


@router.get("/api/v1/services/{service_id}/versions/{number}")
def show_service_version(
    service_id: str, number: int, session: SessionDep, actor: Anyone
) -> DataServiceDraft:
    version = records.get_version(session, actor, SERVICE, service_id, number)
    return DataServiceDraft.model_validate(version.document)


# --- dataset series -----------------------------------------------------------------------

SERIES = RecordKind.series


@router.get("/api/v1/series")
def list_series(
    session: SessionDep, settings: SettingsDep, _actor: Anyone, query: RecordQueryDep
) -> SeriesPage:
    """The published dataset series, each with its published members: words, a page."""
    rows, total = query.listed(session, SERIES)
    return SeriesPage(
        items=[series_out(session, r, settings.base_url, draft=False) for r in rows],
        total=total,
    )


@router.post("/api/v1/series", status_code=status.HTTP_201_CREATED)
def create_series(
    body: SeriesCreate, session: SessionDep, settings: SettingsDep, actor: Creator
) -> DatasetSeriesPublic:
    record = records.create_record(
        session,
        actor,
        kind=SERIES,
        publisher_id=body.publisher_id,
        metadata=body.metadata,
    )
    return series_out(session, record, settings.base_url, draft=True)


@router.get("/api/v1/series/{series_id}")
def show_series(
    series_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
    draft: bool = False,
) -> DatasetSeriesPublic:
    record = records.get_record(session, actor, SERIES, series_id)
    if draft:
        records.ensure_may_edit(actor, record)
    return series_out(session, record, settings.base_url, draft=draft)


@router.patch("/api/v1/series/{series_id}")
def edit_series(
    series_id: str,
    changes: dict[str, object],
    session: SessionDep,
    settings: SettingsDep,
    actor: Editor,
) -> DatasetSeriesPublic:
    record = records.edit_record(
        session, actor, kind=SERIES, record_id=series_id, changes=changes
    )
    return series_out(session, record, settings.base_url, draft=True)


@router.post("/api/v1/series/{series_id}/publish")
def publish_series(
    series_id: str, session: SessionDep, settings: SettingsDep, actor: Publisher
) -> DatasetSeriesPublic:
    records.publish_record(
        session, actor, kind=SERIES, record_id=series_id, base_url=settings.base_url
    )
    record = records.get_record(session, actor, SERIES, series_id)
    return series_out(session, record, settings.base_url, draft=False)


@router.delete("/api/v1/series/{series_id}", status_code=204)
def delete_series(
    series_id: str, body: Withdrawal, session: SessionDep, actor: Remover
) -> Response:
    records.delete_record(
        session, actor, kind=SERIES, record_id=series_id, reason=body.reason
    )
    return Response(status_code=204)


@router.get("/api/v1/series/{series_id}/versions/{number}")
def show_series_version(
    series_id: str, number: int, session: SessionDep, actor: Anyone
) -> DatasetSeriesDraft:
    version = records.get_version(session, actor, SERIES, series_id, number)
    return DatasetSeriesDraft.model_validate(version.document)


# --- persistent identifiers -----------------------------------------------------------------


def _identifier(
    kind: RecordKind,
    record_id: str,
    request: Request,
    session: SessionDep,
    base_url: str,
    actor: Actor,
) -> Response:
    record = records.get_record(session, actor, kind, record_id)
    extension = export.negotiate(request.headers.get("accept", "text/html"))
    if extension is None:
        page = "services" if kind is RecordKind.service else "series"
        return RedirectResponse(f"/{page}/{record.id}", status_code=303)
    document = export.record_document(
        session, record, base_url=base_url, extension=extension
    )
    return Response(
        document.body, media_type=document.media_type, headers={"Vary": "Accept"}
    )


@router.get(
    "/id/service/{service_id}", summary="Persistent identifier, content-negotiated."
)
def service_identifier(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
) -> Response:
    return _identifier(SERVICE, service_id, request, session, settings.base_url, actor)


@router.get(
    "/id/series/{series_id}", summary="Persistent identifier, content-negotiated."
)
def series_identifier(
    series_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
) -> Response:
    return _identifier(SERIES, series_id, request, session, settings.base_url, actor)
