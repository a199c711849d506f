"""The airlock's pages: release requests for a workspace's members, the output checkers'
queue and review form, and the public code archive of a permit.

``/workspaces/{name}/releases`` lists a workspace's requests and opens a new one.
``/releases/{id}`` is one request: its author adds and removes outputs, submits and
withdraws it and reads the automatic checks; members download approved files; output
checkers read it blinded (only what ``requests.get_request`` shows them) and review it.
``/checking`` is a checker's queue. ``/permits/{reference}/archive`` is public: the code
behind a permit's released outputs, with its SHA-256, which the results' data product
links to. The calls mirror ``web/api/airlock.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from datafactory.core.errors import (
    Conflict,
    DatafactoryError,
    FieldError,
    InvalidInput,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.spe import outputs, workspaces
from datafactory.spe.airlock import archive, requests, reviews
from datafactory.spe.airlock.models import (
    CheckStatus,
    Decision,
    FileRole,
    RequestStatus,
)
from datafactory.spe.jobs.models import OutputKind
from datafactory.web.api.airlock import ConfigDep, file_response
from datafactory.web.deps import SessionDep, allow
from datafactory.web.messages import N_
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("spe")
Member = Annotated[Actor, Depends(allow("spe.workspace.use"))]
Checker = Annotated[Actor, Depends(allow("spe.output.check"))]
Anyone = Annotated[Actor, Depends(allow("spe.archive.view"))]

# Errors a form shows in the page instead of an error page.
FORM_ERRORS = (InvalidInput, Conflict)

REQUEST_STATUS: Mapping[str, str] = {
    RequestStatus.draft: N_("Draft"),
    RequestStatus.submitted: N_("Submitted to the output checkers"),
    RequestStatus.returned: N_("Returned for changes"),
    RequestStatus.approved: N_("Approved"),
    RequestStatus.rejected: N_("Rejected"),
    RequestStatus.withdrawn: N_("Withdrawn"),
}
CHECK_STATUS: Mapping[str, str] = {
    CheckStatus.passed: N_("Passed"),
    CheckStatus.failed: N_("Failed"),
    CheckStatus.review: N_("For the checkers to judge"),
}
DECISIONS: Mapping[str, str] = {
    Decision.approve: N_("Approve"),
    Decision.reject: N_("Reject"),
    Decision.changes_requested: N_("Request changes"),
}
ROLES: Mapping[str, str] = {
    FileRole.output: N_("Output to release"),
    FileRole.supporting: N_("Supporting file, for the checkers only"),
}
DONE: Mapping[str, str] = {
    "created": N_("The release request was opened. Add the outputs to release."),
    "added": N_("The output was added to the request."),
    "removed": N_("The file was removed from the request."),
    "submitted": N_(
        "The request was submitted: the automatic checks passed, and two output "
        "checkers will review it."
    ),
    "withdrawn": N_("The request was withdrawn."),
    "reviewed": N_("Your review was recorded."),
}
OUTPUT_KINDS: Mapping[str, str] = {
    OutputKind.table: N_("Table"),
    OutputKind.figure: N_("Figure"),
    OutputKind.text: N_("Text"),
    OutputKind.regression: N_("Regression summary"),
    OutputKind.evidence: N_("Cell evidence"),
}


# --- a workspace's requests ------------------------------------------------------------


def _releases_page(
    request: Request,
    session: Session,
    actor: Actor,
    name: str,
    *,
    form: Mapping[str, str] | None = None,
    problem: DatafactoryError | None = None,
    status_code: int = 200,
) -> Any:
    found = requests.list_requests(session, actor, workspace=name)
    context = {
        "workspace": workspaces.get_workspace(session, name),
        "requests": found,
        "request_status": REQUEST_STATUS,
        "form": form or {"title": "", "description": ""},
        "problem": problem,
    }
    return render(request, "airlock_requests.html", context, status_code=status_code)


@router.get("/workspaces/{name}/releases")
def release_requests(
    name: str, request: Request, session: SessionDep, actor: Member
) -> Any:
    """The workspace's release requests, newest first, and a form to open one."""
    return _releases_page(request, session, actor, name)


@router.post("/workspaces/{name}/releases")
def create_request(
    name: str,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
    title: Annotated[str, Form(max_length=requests.TITLE_MAX)] = "",
    description: Annotated[str, Form(max_length=requests.TEXT_MAX)] = "",
) -> Any:
    """Open a draft release request, then go to it."""
    try:
        made = requests.create_request(
            session,
            actor,
            config,
            workspace=name,
            title=title,
            description=description,
        )
    except FORM_ERRORS as problem:
        session.rollback()
        return _releases_page(
            request,
            session,
            actor,
            name,
            form={"title": title, "description": description},
            problem=problem,
            status_code=problem.status,
        )
    return RedirectResponse(f"/releases/{made.id}?done=created", status_code=303)


# --- one request -------------------------------------------------------------------------


def render_request(
    request: Request,
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    done: str | None = None,
    problem: DatafactoryError | None = None,
    status_code: int = 200,
) -> Any:
    view = requests.get_request(session, actor, request_id=request_id)
    release = view.request
    workspace = workspaces.get_workspace(session, view.workspace)
    member = actor.person_id is not None and actor.person_id in (
        workspace.members or []
    )
    author = release.author_id == actor.person_id
    editable = author and release.status in requests.EDITABLE and workspace.ready
    reviewed = any(
        r.round == release.round and r.checker_id == actor.person_id
        for r in view.reviews
    )
    may_review = (
        policy.allowed(actor, "spe.output.check")
        and not author
        and release.status == RequestStatus.submitted
        and not reviewed
        and view.reviews_this_round < requests.REVIEWS_NEEDED
    )
    in_request = {f.output_id for f in view.files}
    addable = (
        [
            o
            for o in outputs.list_outputs(session, workspace)
            if o.kind != OutputKind.evidence and o.id not in in_request
        ]
        if editable
        else []
    )
    tables = (
        [o for o in outputs.list_outputs(session, workspace) if o.kind == "table"]
        if editable
        else []
    )
    context = {
        "view": view,
        "release": release,
        "workspace": workspace,
        "member": member,
        "author": author,
        "editable": editable,
        "may_review": may_review,
        "may_download": member
        and workspace.ready
        and release.status == RequestStatus.approved,
        "may_inspect": policy.allowed(actor, "spe.output.check") and not author,
        "addable": addable,
        "tables": tables,
        "request_status": REQUEST_STATUS,
        "check_status": CHECK_STATUS,
        "decisions": DECISIONS,
        "roles": ROLES,
        "output_kinds": OUTPUT_KINDS,
        "done": DONE.get(done or ""),
        "problem": problem,
        "reviews_needed": requests.REVIEWS_NEEDED,
    }
    return render(request, "airlock_request.html", context, status_code=status_code)


@router.get("/releases/{request_id}")
def release_request(
    request_id: int,
    request: Request,
    session: SessionDep,
    actor: Member,
    done: str | None = None,
) -> Any:
    """A release request as I may see it: its files, checks, reviews and what I may do."""
    return render_request(request, session, actor, request_id, done=done)


def _after(
    request: Request,
    session: Session,
    actor: Actor,
    request_id: int,
    problem: DatafactoryError,
    *,
    keep: bool = False,
) -> Any:
    if not keep:
        session.rollback()
    return render_request(
        request, session, actor, request_id, problem=problem, status_code=problem.status
    )


def _optional_id(value: str, field: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(
            "Choose an output of the workspace.",
            errors=[FieldError(field, "Choose an output of the workspace.")],
        )
    return int(value)


@router.post("/releases/{request_id}/files")
def add_file(
    request_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
    output_id: Annotated[str, Form(max_length=20)] = "",
    role: Annotated[str, Form(max_length=20)] = FileRole.output.value,
    justification: Annotated[str, Form(max_length=requests.TEXT_MAX)] = "",
    underlying_output_id: Annotated[str, Form(max_length=20)] = "",
    exception: Annotated[str, Form(max_length=requests.TEXT_MAX)] = "",
) -> Any:
    """Put an output of the workspace into the request (its author only)."""
    try:
        chosen = _optional_id(output_id, "output_id")
        if chosen is None:
            raise InvalidInput(
                "Choose an output to add.",
                errors=[FieldError("output_id", "Choose an output to add.")],
            )
        if role not in {r.value for r in FileRole}:
            raise InvalidInput(
                "Choose what the file is for.",
                errors=[FieldError("role", "Choose what the file is for.")],
            )
        requests.add_file(
            session,
            actor,
            config,
            request_id=request_id,
            output_id=chosen,
            role=FileRole(role),
            justification=justification or None,
            underlying_output_id=_optional_id(
                underlying_output_id, "underlying_output_id"
            ),
            exception=exception or None,
        )
    except FORM_ERRORS as problem:
        return _after(request, session, actor, request_id, problem)
    return RedirectResponse(f"/releases/{request_id}?done=added", status_code=303)


@router.post("/releases/{request_id}/files/{file_id}/removal")
def remove_file(
    request_id: int,
    file_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> Any:
    """Take a file out of the request (its author only)."""
    try:
        requests.remove_file(
            session, actor, config, request_id=request_id, file_id=file_id
        )
    except FORM_ERRORS as problem:
        return _after(request, session, actor, request_id, problem)
    return RedirectResponse(f"/releases/{request_id}?done=removed", status_code=303)


@router.post("/releases/{request_id}/submission")
def submit(
    request_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> Any:
    """Run the automatic checks and send the request to two output checkers."""
    try:
        requests.submit(session, actor, config, request_id=request_id)
    except InvalidInput as problem:
        # The checks' verdicts stay on the files, so the author sees what failed.
        return _after(request, session, actor, request_id, problem, keep=True)
    except Conflict as problem:
        return _after(request, session, actor, request_id, problem)
    return RedirectResponse(f"/releases/{request_id}?done=submitted", status_code=303)


@router.post("/releases/{request_id}/withdrawal")
def withdraw(
    request_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> Any:
    """Withdraw a draft or returned request (its author only)."""
    try:
        requests.withdraw(session, actor, config, request_id=request_id)
    except FORM_ERRORS as problem:
        return _after(request, session, actor, request_id, problem)
    return RedirectResponse(f"/releases/{request_id}?done=withdrawn", status_code=303)


@router.post("/releases/{request_id}/reviews")
def review(
    request_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Checker,
    decision: Annotated[str, Form(max_length=30)] = "",
    comment: Annotated[str, Form(max_length=requests.TEXT_MAX)] = "",
) -> Any:
    """Approve, reject or request changes; the second review concludes the round."""
    try:
        if decision not in {d.value for d in Decision}:
            raise InvalidInput(
                "Choose approve, reject or request changes.",
                errors=[
                    FieldError("decision", "Choose approve, reject or request changes.")
                ],
            )
        reviews.review(
            session,
            actor,
            config,
            request_id=request_id,
            decision=Decision(decision),
            comment=comment,
        )
    except FORM_ERRORS as problem:
        return _after(request, session, actor, request_id, problem)
    return RedirectResponse(f"/releases/{request_id}?done=reviewed", status_code=303)


@router.get("/releases/{request_id}/files/{file_id}/download")
def download_file(
    request_id: int,
    file_id: int,
    session: SessionDep,
    config: ConfigDep,
    actor: Member,
) -> Response:
    """A released file of an approved request, for members of its workspace."""
    return file_response(
        requests.download_file(
            session, actor, config, request_id=request_id, file_id=file_id
        )
    )


@router.get("/releases/{request_id}/files/{file_id}/inspection")
def inspect_file(
    request_id: int,
    file_id: int,
    session: SessionDep,
    config: ConfigDep,
    actor: Checker,
) -> Response:
    """An output checker reads a file of a request under review (ledgered)."""
    return file_response(
        reviews.inspect_file(
            session, actor, config, request_id=request_id, file_id=file_id
        )
    )


# --- the checkers' queue and the public archive -----------------------------------------


@router.get("/checking")
def checking(request: Request, session: SessionDep, actor: Checker) -> Any:
    """Submitted release requests waiting for my review; never my own."""
    context = {"queue": reviews.checker_queue(session, actor)}
    return render(request, "airlock_queue.html", context)


@router.get("/permits/{reference}/archive")
def permit_archive(
    reference: str, request: Request, session: SessionDep, actor: Anyone
) -> Any:
    """The public archive of a permit: the code behind its released outputs."""
    found = archive.permit_archive(session, reference, actor)
    return render(request, "airlock_archive.html", {"archive": found})
