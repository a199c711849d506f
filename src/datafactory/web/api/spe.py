"""The secure processing environment's API for members, operators and the TTP: workspaces,
their tables' shapes and dummy data, the query gate, and the preparation job.

A refused query answers 422 problem+json with its reasons, after the refusal has been
recorded: the gate returns refusals instead of raising them, so the transaction that holds
their ledger entry commits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from datafactory.core.errors import InvalidInput, NotFound
from datafactory.identity.actor import Actor
from datafactory.spe import dummy, outputs, preparation, workspaces
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs import service as jobs
from datafactory.spe.jobs.models import SpeJob
from datafactory.spe.jobs.service import JobLogs
from datafactory.spe.models import Workspace
from datafactory.spe.queries import gate
from datafactory.spe.tables import TableSpec
from datafactory.web.deps import RuntimeDep, SessionDep, allow
from datafactory.web.problems import problem_response

router = APIRouter(tags=["spe"])
Member = Annotated[Actor, Depends(allow("spe.workspace.use"))]
Preparer = Annotated[Actor, Depends(allow("spe.workspace.prepare"))]
NO_STORE = {"Cache-Control": "no-store"}


def config_of(runtime: RuntimeDep) -> SpeConfig:
    return runtime.spe


ConfigDep = Annotated[SpeConfig, Depends(config_of)]


class ColumnOut(BaseModel):
    name: str
    type: str
    sensitivity: str
    label: str = ""
    codes: list[str] = Field(default_factory=list)


class TableOut(BaseModel):
    name: str
    rows: int
    unit: str | None
    columns: list[ColumnOut]


class WorkspaceOut(BaseModel):
    name: str
    status: str
    permit_id: int
    members: list[int]
    created_at: datetime
    prepared_at: datetime | None
    permit_ends_on: date | None
    destroy_after: date | None
    tables: list[TableOut] = Field(default_factory=list)
    preparation: dict[str, Any] | None = None


class QueryIn(BaseModel):
    sql: str = Field(min_length=1, max_length=gate.MAX_SQL_CHARS)
    round: bool = Field(default=False, description="Round counts and sums to base 5.")
    save_as: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$",
        description="Keep the released table as a workspace output of this name.",
    )


class SuppressedOut(BaseModel):
    row: int
    column: str
    reasons: list[str]


class AnswerOut(BaseModel):
    query_id: int
    columns: list[str]
    rows: list[list[Any]]
    suppressed: list[SuppressedOut]
    notes: list[str]
    rounded_to: int | None
    output_id: int | None = None


class QueryRecordOut(BaseModel):
    id: int
    sql: str
    outcome: str
    reasons: list[str]
    cells: int
    suppressed: int
    created_at: datetime


class PreparationOut(BaseModel):
    job_id: str
    workspace: str


def workspace_out(
    session: SessionDep, workspace: Workspace, *, detail: bool = False
) -> WorkspaceOut:
    tables = []
    for row in workspaces.table_rows(session, workspace):
        spec = TableSpec.from_json(row.spec)
        tables.append(
            TableOut(
                name=row.name,
                rows=row.rows,
                unit=spec.unit,
                columns=[
                    ColumnOut(
                        name=c.name,
                        type=c.type,
                        sensitivity=c.sensitivity,
                        label=c.label,
                        codes=list(c.codes),
                    )
                    for c in spec.columns
                ],
            )
        )
    return WorkspaceOut(
        name=workspace.name,
        status=workspace.status,
        permit_id=workspace.permit_id,
        members=list(workspace.members),
        created_at=workspace.created_at,
        prepared_at=workspace.prepared_at,
        permit_ends_on=workspace.permit_ends_on,
        destroy_after=workspace.destroy_after,
        tables=tables,
        preparation=workspace.preparation if detail else None,
    )


@router.get("/api/v1/spe/workspaces")
def list_workspaces(session: SessionDep, actor: Member) -> list[WorkspaceOut]:
    """The caller's workspaces (every workspace for SPE operators and auditors)."""
    return [
        workspace_out(session, w) for w in workspaces.list_workspaces(session, actor)
    ]


@router.get("/api/v1/spe/workspaces/{name}")
def get_workspace(name: str, session: SessionDep, actor: Member) -> WorkspaceOut:
    """A workspace: its status, its tables' shapes and the preparation report."""
    workspace = workspaces.get_workspace(session, name)
    workspaces.ensure_viewer(session, actor, workspace)
    return workspace_out(session, workspace, detail=True)


@router.get(
    "/api/v1/spe/workspaces/{name}/tables/{table}/dummy",
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}
    },
)
def dummy_data(
    name: str,
    table: str,
    session: SessionDep,
    actor: Member,
    format: Annotated[Literal["csv", "parquet"], Query()] = "csv",
    rows: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    seed: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Schema-faithful dummy data of a workspace table, made from its data dictionary
    alone: develop code on it outside, then run it inside."""
    workspace = workspaces.get_workspace(session, name)
    workspaces.ensure_viewer(session, actor, workspace)
    specs = workspaces.table_specs(session, workspace)
    if table not in specs:
        raise NotFound(f"Workspace {name} has no table {table!r}.")
    spec = specs[table]
    if format == "csv":
        body, media = dummy.dummy_csv(spec, rows, seed=seed), "text/csv"
    else:
        body, media = (
            dummy.dummy_parquet(spec, rows, seed=seed),
            "application/vnd.apache.parquet",
        )
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{table}-dummy.{format}"'
        },
    )


@router.post(
    "/api/v1/spe/workspaces/{name}/queries",
    responses={422: {"description": "The query was refused; its reasons are listed."}},
)
def ask(
    name: str,
    body: QueryIn,
    request: Request,
    session: SessionDep,
    actor: Member,
    config: ConfigDep,
) -> Any:
    """Ask an aggregate question through the query gate."""
    answer = gate.ask(session, actor, config, name, body.sql, round_results=body.round)
    if answer.refused:
        refusal = InvalidInput(
            "The query was refused: " + " ".join(answer.reasons),
            extra={"reasons": list(answer.reasons), "query_id": answer.query_id},
        )
        return problem_response(request, refusal)
    output_id = None
    if body.save_as:
        output_id = gate.save_answer(session, actor, config, answer, name=body.save_as)
    return AnswerOut(
        query_id=answer.query_id,
        columns=list(answer.columns),
        rows=[list(r) for r in answer.rows],
        suppressed=[
            SuppressedOut(row=s.row, column=s.column, reasons=list(s.reasons))
            for s in answer.suppressed
        ],
        notes=list(answer.notes),
        rounded_to=answer.rounded_to,
        output_id=output_id,
    )


@router.get("/api/v1/spe/workspaces/{name}/queries")
def query_history(
    name: str,
    session: SessionDep,
    actor: Member,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[QueryRecordOut]:
    """The workspace's query ledger, newest first."""
    return [
        QueryRecordOut(
            id=q.id,
            sql=q.sql,
            outcome=q.outcome,
            reasons=list(q.reasons),
            cells=q.cells,
            suppressed=q.suppressed,
            created_at=q.created_at,
        )
        for q in gate.history(session, actor, name, limit=limit)
    ]


@router.post(
    "/api/v1/spe/workspaces/{name}/preparation", status_code=status.HTTP_202_ACCEPTED
)
def prepare(
    name: str, session: SessionDep, actor: Preparer, runtime: RuntimeDep
) -> PreparationOut:
    """Start the TTP's preparation of a workspace (a background job)."""
    workspace = workspaces.get_workspace(session, name)
    job = runtime.queue.submit(
        session,
        kind=preparation.KIND,
        requested_by=actor.ref,
        params={"workspace": workspace.name},
    )
    workspace.preparation_job_id = job.id
    return PreparationOut(job_id=job.id, workspace=workspace.name)


@router.get("/api/v1/spe/workspaces/{name}/preparation")
def preparation_report(name: str, session: SessionDep, actor: Member) -> dict[str, Any]:
    """The preparation report: rows and variables per table and the checks that ran,
    for the applicant, the permit's users and the authority."""
    return preparation.preparation_report(session, actor, name).to_json()


# --- jobs and outputs -------------------------------------------------------------------


class JobIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    script: str = Field(min_length=1, description="A Python script; see docs/spe.md.")


class JobOut(BaseModel):
    id: int
    name: str
    status: str
    exit_code: int | None
    reason: str | None
    script_sha256: str
    refused_files: list[dict[str, str]]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stdout: str | None = None
    stderr: str | None = None


class OutputOut(BaseModel):
    id: int
    name: str
    kind: str
    media_type: str
    origin: str
    bytes: int
    sha256: str
    code_sha256: str
    created_at: datetime


def job_out(job: SpeJob, logs: JobLogs | None = None) -> JobOut:
    return JobOut(
        id=job.id,
        name=job.name,
        status=job.status,
        exit_code=job.exit_code,
        reason=job.reason,
        script_sha256=job.script_sha256,
        refused_files=list(job.refused or []),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        stdout=logs.stdout if logs else None,
        stderr=logs.stderr if logs else None,
    )


@router.post("/api/v1/spe/workspaces/{name}/jobs", status_code=status.HTTP_202_ACCEPTED)
def submit_job(
    name: str,
    body: JobIn,
    session: SessionDep,
    actor: Member,
    runtime: RuntimeDep,
) -> JobOut:
    """Run a Python script in the sandbox over the workspace's data; its files become
    workspace outputs, to be released through the airlock."""
    workspace = workspaces.get_workspace(session, name)
    job = jobs.submit_job(
        session,
        actor,
        runtime.spe,
        runtime.queue,
        workspace,
        name=body.name,
        script=body.script,
    )
    return job_out(job)


@router.get("/api/v1/spe/workspaces/{name}/jobs")
def list_jobs(name: str, session: SessionDep, actor: Member) -> list[JobOut]:
    workspace = workspaces.get_workspace(session, name)
    return [job_out(j) for j in jobs.list_jobs(session, actor, workspace)]


@router.get("/api/v1/spe/workspaces/{name}/jobs/{job_id}")
def get_job(
    name: str, job_id: int, session: SessionDep, actor: Member, config: ConfigDep
) -> JobOut:
    """A job with its captured (and length-limited) stdout and stderr."""
    workspace = workspaces.get_workspace(session, name)
    job = jobs.get_job(session, actor, workspace, job_id)
    return job_out(job, jobs.job_logs(session, actor, config, workspace, job))


@router.get("/api/v1/spe/workspaces/{name}/outputs")
def list_outputs(name: str, session: SessionDep, actor: Member) -> list[OutputOut]:
    """The workspace's outputs (metadata only: they leave only through the airlock)."""
    workspace = workspaces.get_workspace(session, name)
    workspaces.ensure_member(session, actor, workspace)
    return [
        OutputOut(
            id=o.id,
            name=o.name,
            kind=o.kind,
            media_type=o.media_type,
            origin=o.origin,
            bytes=o.bytes,
            sha256=o.sha256,
            code_sha256=o.code_sha256,
            created_at=o.created_at,
        )
        for o in outputs.list_outputs(session, workspace)
    ]
