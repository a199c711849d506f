"""Harvest sources and runs: list and add sources, start a run (202 + job), read reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from datafactory.catalogue.harvest import sources
from datafactory.catalogue.harvest.models import HarvestRun, HarvestSource
from datafactory.catalogue.harvest.run import start_harvest
from datafactory.core.errors import NotFound
from datafactory.identity.actor import Actor
from datafactory.web.deps import RuntimeDep, SessionDep, allow

router = APIRouter(prefix="/api/v1/harvest", tags=["harvest"])
Lister = Annotated[Actor, Depends(allow("harvest.source.list"))]


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    type: sources.SourceType
    url: str = Field(min_length=1, max_length=2000)
    publisher: str = Field(description="The organisation's slug.")
    allow_private_network: bool = False
    schedule: sources.Schedule = sources.Schedule.never
    language: str = "fr"
    grace_days: int = Field(default=7, ge=0, le=365)


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job_id: str | None
    status: str
    requested_by: str
    started_at: datetime
    finished_at: datetime | None
    report: dict[str, Any] | None
    error: str | None


class SourcePublic(BaseModel):
    id: int
    name: str
    type: str
    url: str
    publisher_id: int
    allow_private_network: bool
    schedule: str
    language: str
    grace_days: int
    last_run: RunPublic | None


class RunStarted(BaseModel):
    job_id: str
    job_url: str


def _public(source: HarvestSource, last: HarvestRun | None) -> SourcePublic:
    return SourcePublic(
        id=source.id,
        name=source.name,
        type=source.type,
        url=source.url,
        publisher_id=source.publisher_id,
        allow_private_network=source.allow_private_network,
        schedule=source.schedule,
        language=source.language,
        grace_days=source.grace_days,
        last_run=RunPublic.model_validate(last) if last else None,
    )


@router.get("/sources")
def list_sources(session: SessionDep, actor: Lister) -> list[SourcePublic]:
    found = sources.list_sources(session, actor)
    runs = sources.last_runs(session, [s.id for s in found])
    return [_public(s, runs.get(s.id)) for s in found]


@router.post("/sources", status_code=status.HTTP_201_CREATED)
def add_source(
    body: SourceCreate,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("harvest.source.create"))],
) -> SourcePublic:
    source = sources.add_source(session, actor, **body.model_dump())
    return _public(source, None)


@router.post("/sources/{source_id}/runs", status_code=status.HTTP_202_ACCEPTED)
def start_run(
    source_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    actor: Annotated[Actor, Depends(allow("harvest.run"))],
) -> RunStarted:
    source = sources.get_source(session, actor, source_id)
    job = start_harvest(session, actor, source=source, submit=runtime.queue.submit)
    return RunStarted(job_id=job.id, job_url=f"/api/jobs/{job.id}")


@router.get("/runs/{job_id}")
def show_run(job_id: str, session: SessionDep, actor: Lister) -> RunPublic:
    """The report of the run a job carried out."""
    run = sources.run_of_job(session, actor, job_id)
    if run is None:
        raise NotFound(f"Job {job_id} has not started a harvest run (yet).")
    return RunPublic.model_validate(run)
