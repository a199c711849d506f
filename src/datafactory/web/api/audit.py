"""The audit ledger for auditors: entries, the signed head, background verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from datafactory.core import ledger
from datafactory.identity.actor import Actor
from datafactory.web.api.jobs import JobPublic
from datafactory.web.deps import RuntimeDep, SessionDep, allow
from datafactory.web.schemas import LedgerEntryPublic, LedgerPage

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("/entries")
def list_entries(
    session: SessionDep,
    _actor: Annotated[Actor, Depends(allow("audit.read"))],
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LedgerPage:
    entries = ledger.entries_after(session, after=after, limit=limit)
    return LedgerPage(
        items=[LedgerEntryPublic.from_entry(e) for e in entries],
        next_after=entries[-1].seq if len(entries) == limit else None,
    )


@router.get("/head")
def signed_head(
    session: SessionDep,
    runtime: RuntimeDep,
    _actor: Annotated[Actor, Depends(allow("audit.read"))],
) -> dict[str, Any]:
    return ledger.sign_head(session, runtime.signing_key).to_json()


@router.post("/verifications", status_code=status.HTTP_202_ACCEPTED)
def start_verification(
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("audit.verify"))],
) -> JobPublic:
    job = runtime.queue.submit(
        session, kind="audit.verify", requested_by=actor.ref, params={}
    )
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobPublic.model_validate(job)
