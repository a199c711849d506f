"""The trusted third party's API for identifier matching: put holders' files in the TTP's
work folder, start a linkage run as a background job, and decide the clerical review queue.

The same services serve ``datafactory ttp link`` and the ``/ttp/review`` page.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from datafactory.core.errors import FieldError, InvalidInput, PayloadTooLarge
from datafactory.identity.actor import Actor
from datafactory.ttp import review
from datafactory.ttp.config import TtpConfig
from datafactory.web.api.ttp import config_of
from datafactory.web.deps import RuntimeDep, SessionDep, allow

router = APIRouter(tags=["ttp"])
Linker = Annotated[Actor, Depends(allow("ttp.link.run"))]
Reviewer = Annotated[Actor, Depends(allow("ttp.review.view"))]
Decider = Annotated[Actor, Depends(allow("ttp.review.decide"))]
ConfigDep = Annotated[TtpConfig, Depends(config_of)]
INBOX = "inbox"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(csv|parquet)$")


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="A file put with PUT /api/v1/ttp/files/{name}.")
    label: str = Field(default="", max_length=50)
    columns: dict[str, list[str]] = Field(
        description='Field → columns, e.g. {"surname": ["nom"]}.'
    )
    key: str | None = Field(default=None, description="The holder's row-key column.")


class LinkageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(min_length=1, max_length=200)
    sources: list[SourceIn] = Field(min_length=1, max_length=2)
    name: str | None = Field(default=None, max_length=200)
    match_threshold: float = Field(default=0.95, gt=0, lt=1)
    review_threshold: float = Field(default=0.6, gt=0, lt=1)


class JobStarted(BaseModel):
    job_id: str
    status: str


class AgreementOut(BaseModel):
    field: str
    kind: str = Field(description="exact, swapped, similar, different or missing")
    method: str | None
    threshold: float | None


class PairOut(BaseModel):
    id: int
    run_id: int
    run_name: str
    domain: str
    match_probability: float
    agreements: list[AgreementOut]
    left: dict[str, str]
    right: dict[str, str]


class PairPageOut(BaseModel):
    items: list[PairOut]
    total: int
    page: int
    page_size: int


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool


class DecisionOut(BaseModel):
    id: int
    status: str


def _inbox(config: TtpConfig) -> str:
    folder = config.work_dir / INBOX
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return str(folder)


@router.put("/api/v1/ttp/files/{name}", status_code=status.HTTP_201_CREATED)
async def put_file(
    name: str, request: Request, config: ConfigDep, _actor: Linker
) -> dict[str, object]:
    """Put a holder's CSV or Parquet file in the TTP's private work folder for linkage."""
    if not _NAME.match(name):
        raise InvalidInput(
            "Name the file with letters, digits, dots, dashes or underscores, ending "
            "in .csv or .parquet.",
            errors=[
                FieldError("name", "Use a plain file name ending in .csv or .parquet.")
            ],
        )
    target = os.path.join(_inbox(config), name)
    partial = f"{target}.part"
    size = 0
    try:
        with open(partial, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > config.max_upload_bytes:
                    raise PayloadTooLarge(
                        f"The file is larger than {config.max_upload_bytes} bytes."
                    )
                out.write(chunk)
        if size == 0:
            raise InvalidInput("The file is empty.")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return {"file": name, "size": size}


@router.post("/api/v1/ttp/linkages", status_code=status.HTTP_202_ACCEPTED)
def start_linkage(
    body: LinkageIn,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    config: ConfigDep,
    actor: Linker,
) -> JobStarted:
    """Start linking one file (deduplication) or two; follow the job at ``Location``."""
    for i, source in enumerate(body.sources):
        if not os.path.isfile(os.path.join(_inbox(config), source.file)):
            raise InvalidInput(
                f"There is no file {source.file!r}; put it first.",
                errors=[FieldError(f"sources.{i}.file", "Put this file first.")],
            )
    params = {
        "domain": body.domain,
        "name": body.name,
        "match_threshold": body.match_threshold,
        "review_threshold": body.review_threshold,
        "sources": [
            {
                "path": f"{INBOX}/{s.file}",
                "label": s.label,
                "columns": s.columns,
                "key": s.key,
            }
            for s in body.sources
        ],
    }
    job = runtime.queue.submit(
        session, kind="ttp.link", requested_by=actor.ref, params=params
    )
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return JobStarted(job_id=job.id, status=job.status)


@router.get("/api/v1/ttp/review-pairs")
def review_pairs(
    session: SessionDep,
    actor: Reviewer,
    run_id: int | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> PairPageOut:
    """The clerical review queue: pairs between the review and match thresholds, with
    per-field agreement and masked hints only."""
    found = review.pending_pairs(
        session, actor, run_id=run_id, page=page, page_size=page_size
    )
    return PairPageOut(
        items=[
            PairOut(
                id=p.id,
                run_id=p.run_id,
                run_name=p.run_name,
                domain=p.domain,
                match_probability=p.match_probability,
                agreements=[
                    AgreementOut(
                        field=a.field,
                        kind=a.kind,
                        method=a.method,
                        threshold=a.threshold,
                    )
                    for a in p.agreements
                ],
                left=p.left,
                right=p.right,
            )
            for p in found.items
        ],
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )


@router.post("/api/v1/ttp/review-pairs/{pair_id}/decision")
def decide(
    pair_id: int, body: DecisionIn, session: SessionDep, actor: Decider
) -> DecisionOut:
    """Accept (the same person: the two persons merge) or reject one pair; ledgered."""
    pair = review.decide_pair(session, actor, pair_id=pair_id, accept=body.accept)
    return DecisionOut(id=pair.id, status=pair.status)
