"""Metadata quality, link checks and citations of the catalogue's datasets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from datafactory.catalogue import service
from datafactory.catalogue.quality import checks, citations, scoring
from datafactory.identity.actor import Actor
from datafactory.web.api.jobs import JobPublic
from datafactory.web.deps import RuntimeDep, SessionDep, SettingsDep, allow
from datafactory.web.i18n import current_language

router = APIRouter(tags=["quality"])
Anyone = Annotated[Actor, Depends(allow("quality.view"))]
CitationFormat = Literal["apa", "bibtex", "ris", "csl-json", "datacite"]


class IndicatorPublic(BaseModel):
    key: str
    dimension: str
    indicator: str
    points: float
    max_points: int
    detail: str
    not_checked: list[str] = Field(default_factory=list)


class DatasetQualityPublic(BaseModel):
    dataset_id: str
    version: int
    total: float
    max_total: int = 405
    band: str
    dimensions: dict[str, float]
    dcat_ap_conforms: bool | None
    indicators: list[IndicatorPublic]
    computed_at: datetime


class CatalogueQualityPublic(BaseModel):
    average: float
    max_total: int = 405
    band: str
    datasets: int
    dimensions: dict[str, float]
    dimension_max: dict[str, int]
    bands: dict[str, int]


class LinkCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str | None = Field(
        default=None, description="Only this dataset's links; all when missing."
    )


@router.get("/api/v1/datasets/{dataset_id}/quality")
def dataset_quality(
    dataset_id: str, session: SessionDep, settings: SettingsDep, actor: Anyone
) -> DatasetQualityPublic:
    row = scoring.dataset_quality(
        session, actor, dataset_id, base_url=settings.base_url
    )
    return DatasetQualityPublic(
        dataset_id=row.dataset_id,
        version=row.version,
        total=row.total,
        band=row.band,
        dimensions=dict(scoring.dimensions_of(row)),
        dcat_ap_conforms=row.shacl_conforms,
        indicators=[IndicatorPublic.model_validate(i) for i in row.indicators],
        computed_at=row.computed_at,
    )


@router.get("/api/v1/quality")
def catalogue_quality(session: SessionDep, _actor: Anyone) -> CatalogueQualityPublic:
    figures = scoring.catalogue_quality(session)
    return CatalogueQualityPublic(
        average=figures.average,
        band=figures.band,
        datasets=figures.datasets,
        dimensions=dict(figures.by_dimension),
        dimension_max=dict(scoring.DIMENSION_MAX),
        bands=dict(figures.bands),
    )


@router.post("/api/v1/quality/link-checks", status_code=status.HTTP_202_ACCEPTED)
def start_link_checks(
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("quality.check_links"))],
    body: LinkCheckRequest | None = None,
) -> JobPublic:
    params = checks.link_check_params(
        session, actor, dataset_id=body.dataset_id if body else None
    )
    job = runtime.queue.submit(
        session, kind=checks.KIND, requested_by=actor.ref, params=params
    )
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobPublic.model_validate(job)


@router.get(
    "/api/v1/datasets/{dataset_id}/citation",
    responses={
        200: {"content": {f.media_type: {} for f in citations.FORMATS.values()}}
    },
)
def dataset_citation(
    dataset_id: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: Anyone,
    format: CitationFormat = "apa",
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    record = citations.citation_record(
        session,
        actor,
        dataset_id,
        base_url=settings.base_url,
        version=version,
        lang=current_language.get(),
    )
    text, media_type = citations.render_citation(record, format)
    return Response(text, media_type=media_type)


@router.get(
    "/id/dataset/{dataset_id}/version/{number}",
    summary="Persistent identifier of one published version.",
)
def version_identifier(
    dataset_id: str, number: int, session: SessionDep, actor: Anyone
) -> Any:
    version = service.get_version(session, actor, dataset_id, number)
    return RedirectResponse(
        f"/api/v1/datasets/{dataset_id}/versions/{version.number}", status_code=303
    )
