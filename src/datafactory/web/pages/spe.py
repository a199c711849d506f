"""The secure processing environment's pages for a workspace's members.

``/workspaces`` lists my workspaces. ``/workspaces/{name}`` shows a workspace: its status,
the preparation report, its tables' shapes with dummy-data downloads, and, for members of
a ready workspace, the SQL editor (answered through the query gate), recent queries, jobs
and outputs. A job has its own page, which refreshes itself with htmx until the job ends.

Every read goes through the services: viewers are checked by ``workspaces.ensure_viewer``
(others are told the workspace does not exist) and members by the gate and job services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from datafactory.core.errors import DatafactoryError, FieldError, InvalidInput, NotFound
from datafactory.identity.actor import Actor
from datafactory.spe import dummy, outputs, workspaces
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs import service as jobs
from datafactory.spe.jobs.models import JobStatus, OutputKind, SpeJob
from datafactory.spe.models import Workspace, WorkspaceStatus
from datafactory.spe.preparing.report import PreparationReport
from datafactory.spe.queries import gate
from datafactory.spe.tables import TableSpec
from datafactory.web.api.permits import content_disposition
from datafactory.web.api.spe import ConfigDep
from datafactory.web.deps import RuntimeDep, SessionDep, allow
from datafactory.web.messages import N_
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("spe")
Member = Annotated[Actor, Depends(allow("spe.workspace.use"))]

HISTORY = 10
DUMMY_ROWS = 1000
SAVE_AS = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]*")
LIVE = (JobStatus.queued.value, JobStatus.running.value)

WORKSPACE_STATUS: Mapping[str, str] = {
    WorkspaceStatus.awaiting_preparation: N_("Awaiting preparation"),
    WorkspaceStatus.preparing: N_("Being prepared"),
    WorkspaceStatus.ready: N_("Ready"),
    WorkspaceStatus.failed: N_("Preparation failed"),
    WorkspaceStatus.closed: N_("Closed"),
    WorkspaceStatus.destroyed: N_("Destroyed"),
}
JOB_STATUS: Mapping[str, str] = {
    JobStatus.queued: N_("Queued"),
    JobStatus.running: N_("Running"),
    JobStatus.succeeded: N_("Succeeded"),
    JobStatus.failed: N_("Failed"),
}
SENSITIVITY: Mapping[str, str] = {
    "direct_identifier": N_("Pseudonym (direct identifier replaced)"),
    "quasi_identifier": N_("Quasi-identifier"),
    "sensitive": N_("Sensitive"),
    "other": N_("Other"),
}
OUTPUT_KINDS: Mapping[str, str] = {
    OutputKind.table: N_("Table"),
    OutputKind.figure: N_("Figure"),
    OutputKind.text: N_("Text"),
    OutputKind.regression: N_("Regression summary"),
    OutputKind.evidence: N_("Cell evidence"),
}
QUERY_OUTCOMES: Mapping[str, str] = {
    "answered": N_("Answered"),
    "refused": N_("Refused"),
}


def _viewed(session: Session, actor: Actor, name: str) -> Workspace:
    workspace = workspaces.get_workspace(session, name)
    workspaces.ensure_viewer(session, actor, workspace)
    return workspace


def may_use(actor: Actor, workspace: Workspace) -> bool:
    """A member of a ready workspace: the services would let them query and run jobs."""
    return (
        actor.person_id is not None
        and actor.person_id in (workspace.members or [])
        and workspace.ready
    )


def origin_words(origin: str) -> tuple[str, str]:
    """("job" | "query" | other, its id) of an output's origin ``job:<id>``."""
    kind, _, ident = origin.partition(":")
    return kind, ident


def _tables(session: Session, workspace: Workspace) -> list[dict[str, Any]]:
    found = []
    for row in workspaces.table_rows(session, workspace):
        spec = TableSpec.from_json(row.spec)
        found.append({"name": row.name, "rows": row.rows, "spec": spec})
    return found


def _suppressed(answer: gate.Answer | None) -> dict[tuple[int, str], tuple[str, ...]]:
    if answer is None:
        return {}
    return {(s.row, s.column): s.reasons for s in answer.suppressed}


def render_workspace(
    request: Request,
    session: Session,
    actor: Actor,
    workspace: Workspace,
    *,
    asked: Mapping[str, Any] | None = None,
    answer: gate.Answer | None = None,
    output_id: int | None = None,
    problem: DatafactoryError | None = None,
    job_form: Mapping[str, str] | None = None,
    job_problem: DatafactoryError | None = None,
    status_code: int = 200,
) -> Any:
    usable = may_use(actor, workspace)
    report = (
        PreparationReport.from_json(workspace.preparation)
        if workspace.preparation
        else None
    )
    context = {
        "workspace": workspace,
        "status_words": WORKSPACE_STATUS.get(workspace.status, workspace.status),
        "report": report,
        "tables": _tables(session, workspace),
        "sensitivity": SENSITIVITY,
        "usable": usable,
        "history": gate.history(session, actor, workspace.name, limit=HISTORY)
        if usable
        else [],
        "jobs": jobs.list_jobs(session, actor, workspace) if usable else [],
        "job_status": JOB_STATUS,
        "outputs": [
            o
            for o in outputs.list_outputs(session, workspace)
            if o.kind != OutputKind.evidence
        ]
        if usable
        else [],
        "output_kinds": OUTPUT_KINDS,
        "outcomes": QUERY_OUTCOMES,
        "origin_words": origin_words,
        "asked": asked or {"sql": "", "round": False, "save_as": ""},
        "answer": answer,
        "suppressed": _suppressed(answer),
        "output_id": output_id,
        "problem": problem,
        "job_form": job_form or {"name": "", "script": ""},
        "job_problem": job_problem,
    }
    return render(request, "spe_workspace.html", context, status_code=status_code)


@router.get("/workspaces")
def workspace_list(request: Request, session: SessionDep, actor: Member) -> Any:
    """The workspaces I am a member of (every workspace for operators and auditors)."""
    found = workspaces.list_workspaces(session, actor)
    context = {
        "workspaces": found,
        "status_words": WORKSPACE_STATUS,
        "may_use": may_use,
    }
    return render(request, "spe_workspaces.html", context)


@router.get("/workspaces/{name}")
def workspace_page(
    name: str, request: Request, session: SessionDep, actor: Member
) -> Any:
    """A workspace: its tables, dummy data, the SQL editor, jobs and outputs."""
    workspace = _viewed(session, actor, name)
    return render_workspace(request, session, actor, workspace)


@router.get("/workspaces/{name}/tables/{table}/dummy")
def dummy_data(
    name: str,
    table: str,
    session: SessionDep,
    actor: Member,
    format: Annotated[Literal["csv", "parquet"], Query()] = "csv",
) -> Response:
    """The table's dummy data, as the API gives it, for the signed-in browser (the API
    takes bearer tokens only)."""
    workspace = _viewed(session, actor, name)
    specs = workspaces.table_specs(session, workspace)
    if table not in specs:
        raise NotFound(f"Workspace {workspace.name} has no table {table[:80]!r}.")
    spec = specs[table]
    if format == "csv":
        body, media = dummy.dummy_csv(spec, DUMMY_ROWS, seed=0), "text/csv"
    else:
        body = dummy.dummy_parquet(spec, DUMMY_ROWS, seed=0)
        media = "application/vnd.apache.parquet"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": content_disposition(f"{table}-dummy.{format}"),
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/workspaces/{name}/queries")
def ask(
    name: str,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
    sql: Annotated[str, Form(max_length=gate.MAX_SQL_CHARS)] = "",
    round_results: Annotated[bool, Form(alias="round")] = False,
    save_as: Annotated[str, Form(max_length=100)] = "",
) -> Any:
    """Ask the query gate; the page shows the released table or why it was refused."""
    workspace = _viewed(session, actor, name)
    save_as = save_as.strip()
    asked = {"sql": sql, "round": round_results, "save_as": save_as}
    errors = []
    if not sql.strip():
        errors.append(FieldError("sql", "Write a query."))
    if save_as and not SAVE_AS.fullmatch(save_as):
        errors.append(
            FieldError(
                "save_as",
                "Use letters, digits, spaces, '.', '_' and '-', starting with a "
                "letter or a digit.",
            )
        )
    if errors:
        return render_workspace(
            request,
            session,
            actor,
            workspace,
            asked=asked,
            problem=InvalidInput("The query cannot be asked.", errors=errors),
            status_code=422,
        )
    answer = gate.ask(
        session, actor, config, workspace.name, sql, round_results=round_results
    )
    if answer.refused:
        # Not raised: the refusal's record in the query ledger commits with the request.
        return render_workspace(
            request,
            session,
            actor,
            workspace,
            asked=asked,
            answer=answer,
            status_code=422,
        )
    output_id = None
    problem = None
    if save_as:
        try:
            output_id = gate.save_answer(session, actor, config, answer, name=save_as)
        except InvalidInput as refused:
            problem = refused
    return render_workspace(
        request,
        session,
        actor,
        workspace,
        asked=asked,
        answer=answer,
        output_id=output_id,
        problem=problem,
        status_code=200 if problem is None else 422,
    )


@router.post("/workspaces/{name}/jobs")
def submit_job(
    name: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    actor: Member,
    job_name: Annotated[str, Form(alias="name", max_length=200)] = "",
    script: Annotated[str, Form(max_length=jobs.MAX_SCRIPT_BYTES)] = "",
) -> Any:
    """Queue a Python script to run in the workspace's sandbox, then show the job."""
    workspace = _viewed(session, actor, name)
    try:
        job = jobs.submit_job(
            session,
            actor,
            runtime.spe,
            runtime.queue,
            workspace,
            name=job_name,
            script=script,
        )
    except InvalidInput as problem:
        return render_workspace(
            request,
            session,
            actor,
            workspace,
            job_form={"name": job_name, "script": script},
            job_problem=problem,
            status_code=422,
        )
    return RedirectResponse(f"/workspaces/{workspace.name}/jobs/{job.id}", 303)


def _job_context(
    session: Session, config: SpeConfig, actor: Actor, name: str, job_id: int
) -> dict[str, Any]:
    workspace = _viewed(session, actor, name)
    job: SpeJob = jobs.get_job(session, actor, workspace, job_id)
    live = job.status in LIVE
    return {
        "workspace": workspace,
        "job": job,
        "live": live,
        "logs": None if live else jobs.job_logs(session, actor, config, workspace, job),
        "job_status": JOB_STATUS,
        "job_outputs": [
            o
            for o in outputs.list_outputs(session, workspace, origin=f"job:{job.id}")
            if o.kind != OutputKind.evidence
        ],
        "output_kinds": OUTPUT_KINDS,
    }


@router.get("/workspaces/{name}/jobs/{job_id}")
def job_page(
    name: str,
    job_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> Any:
    """A job's status, and its output and error streams once it has ended."""
    context = _job_context(session, config, actor, name, job_id)
    return render(request, "spe_job.html", context)


@router.get("/workspaces/{name}/jobs/{job_id}/status")
def job_status(
    name: str,
    job_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> Any:
    """The job's status block alone, for htmx to swap in while the job runs."""
    context = _job_context(session, config, actor, name, job_id)
    return render(request, "_spe_job_status.html", context)
