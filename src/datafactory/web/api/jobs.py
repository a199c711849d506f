"""Background jobs: how far a job got, and its result."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from datafactory.core.jobs import get_job
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, allow

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: str
    done: int
    total: int | None
    percent: int | None
    message: str | None
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@router.get("/{job_id}")
def show_job(
    job_id: str,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("jobs.view"))],
) -> JobPublic:
    job = get_job(session, job_id)
    policy.ensure(actor, "jobs.view", job)
    return JobPublic.model_validate(job)
