"""The audit ledger page and the page that follows a background job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.jobs import Job, get_job
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.web.deps import RuntimeDep, SessionDep, allow
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("pages")


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    _actor: Annotated[Actor, Depends(allow("audit.read"))],
) -> Any:
    return render(
        request, "audit.html", {"entries": ledger.latest_entries(session, limit=50)}
    )


@router.post("/audit/verifications")
def start_verification(
    session: SessionDep,
    runtime: RuntimeDep,
    actor: Annotated[Actor, Depends(allow("audit.verify"))],
) -> RedirectResponse:
    job = runtime.queue.submit(
        session, kind="audit.verify", requested_by=actor.ref, params={}
    )
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(
    job_id: str,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("jobs.view"))],
) -> Any:
    return render(request, "job.html", {"job": _visible_job(session, actor, job_id)})


@router.get("/jobs/{job_id}/status")
def job_status(
    job_id: str,
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("jobs.view"))],
) -> Any:
    job = _visible_job(session, actor, job_id)
    return render(request, "_job_status.html", {"job": job})


def _visible_job(session: Session, actor: Actor, job_id: str) -> Job:
    job = get_job(session, job_id)
    policy.ensure(actor, "jobs.view", job)
    return job
