"""Release requests: the only way an output leaves a workspace.

A member opens a request in a workspace and puts outputs of that workspace into it, each
as an ``output`` to release or a ``supporting`` file the checkers read for context.
Submitting runs the automatic checks; an output that fails blocks the submission unless
its author asks for an exception in writing. Two output checkers then review the request
independently:

- the author never reviews, whatever roles they hold;
- checkers are blinded: until both reviews of a round are in, a checker sees only their
  own review, and the author sees none;
- both approve → approved; either rejects → rejected; otherwise the request returns to
  its author with the comments, and submitting again starts a new round with no reviews.

The checkers' verbs are in :mod:`.reviews`. Only members download, only output files of
approved requests, and each download is ledgered, like every other step. Anything not allowed here is refused; a request a person
may not see is "not found".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

import datafactory.spe.policy as _rules  # noqa: F401  (the spe.* rules)
from datafactory.core import ledger
from datafactory.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.spe import outputs, workspaces
from datafactory.spe.airlock import checks
from datafactory.spe.airlock.checks import CheckResult
from datafactory.spe.airlock.events import (
    ReleasedFileDownloaded,
    ReleaseFileAdded,
    ReleaseFileChanged,
    ReleaseFileRemoved,
    ReleaseRequestCreated,
    ReleaseRequestSubmitted,
    ReleaseRequestWithdrawn,
)
from datafactory.spe.airlock.models import (
    CheckStatus,
    Decision,
    FileRole,
    ReleaseFile,
    ReleaseRequest,
    RequestStatus,
    Review,
)
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs.models import OutputKind, WorkspaceOutput
from datafactory.spe.models import Workspace

REVIEWS_NEEDED = 2
EDITABLE = (RequestStatus.draft, RequestStatus.returned)
CONCLUDED = (RequestStatus.returned, RequestStatus.approved, RequestStatus.rejected)
TITLE_MAX = 300
TEXT_MAX = 20_000


@dataclass(frozen=True)
class FileView:
    id: int
    output_id: int
    name: str
    kind: str
    media_type: str
    sha256: str
    role: FileRole
    justification: str | None
    underlying_output_id: int | None
    exception: str | None
    check_status: CheckStatus | None
    check_report: Mapping[str, object] | None


@dataclass(frozen=True)
class ReviewView:
    id: int
    round: int
    checker_id: int
    decision: Decision
    comment: str
    file_notes: Mapping[str, str]
    decided_at: datetime


@dataclass(frozen=True)
class RequestView:
    """A request as one person may see it: the reviews are only those the blinding
    lets them read."""

    request: ReleaseRequest
    workspace: str
    files: list[FileView]
    reviews: list[ReviewView]
    reviews_this_round: int


@dataclass(frozen=True)
class ReleasedFile:
    name: str
    media_type: str
    sha256: str
    data: bytes


# --- reading ----------------------------------------------------------------------------


def load_request(
    session: Session, request_id: int, *, lock: bool = False
) -> ReleaseRequest:
    found = session.get(ReleaseRequest, request_id, with_for_update=lock or None)
    if found is None:
        raise NotFound(f"There is no release request {request_id}.")
    return found


def _workspace(session: Session, request: ReleaseRequest) -> Workspace:
    workspace = session.get(Workspace, request.workspace_id)
    assert workspace is not None  # a foreign key
    return workspace


def _is_member(actor: Actor, workspace: Workspace) -> bool:
    return actor.person_id is not None and actor.person_id in (workspace.members or [])


def _visible(session: Session, actor: Actor, request_id: int) -> ReleaseRequest:
    """The request if ``actor`` may see it: a member of its workspace, or an output
    checker once it was submitted. Anyone else is told it does not exist."""
    policy.ensure(actor, "spe.workspace.use")
    request = load_request(session, request_id)
    workspace = _workspace(session, request)
    if _is_member(actor, workspace):
        return request
    if request.status != RequestStatus.draft and actor.has_role(Role.output_checker):
        return request
    raise NotFound(f"There is no release request {request_id}.")


def _authored(
    session: Session, actor: Actor, request_id: int, *, lock: bool = False
) -> ReleaseRequest:
    """The request, for a change only its author may make, in a workspace they may
    still use."""
    policy.ensure(actor, "spe.workspace.use")
    request = load_request(session, request_id, lock=lock)
    workspace = _workspace(session, request)
    if not _is_member(actor, workspace):
        raise NotFound(f"There is no release request {request_id}.")
    workspaces.ensure_member(session, actor, workspace)
    if request.author_id != actor.person_id:
        raise Forbidden("Only the author of a release request may change it.")
    return request


def _editable(request: ReleaseRequest) -> None:
    if request.status not in EDITABLE:
        raise Conflict(
            f"Release request {request.id} is {request.status}; files can change "
            "only while it is a draft or returned for changes.",
            extra={"status": request.status},
        )


def _files(
    session: Session, request_id: int
) -> list[tuple[ReleaseFile, WorkspaceOutput]]:
    return [
        (f, o)
        for f, o in session.execute(
            select(ReleaseFile, WorkspaceOutput)
            .join(WorkspaceOutput, WorkspaceOutput.id == ReleaseFile.output_id)
            .where(ReleaseFile.request_id == request_id)
            .order_by(ReleaseFile.id)
        )
    ]


def reviews_of(
    session: Session, request_id: int, round: int | None = None
) -> list[Review]:
    query = select(Review).where(Review.request_id == request_id)
    if round is not None:
        query = query.where(Review.round == round)
    return list(session.scalars(query.order_by(Review.round, Review.id)))


def visible_reviews(
    actor: Actor, request: ReleaseRequest, reviews: list[Review]
) -> list[Review]:
    """The blinding rule: a round's reviews are seen once the round is over; until then
    a checker sees their own review only, and everyone else sees none."""
    settled = request.round - (0 if request.status in CONCLUDED else 1)
    return [
        r
        for r in reviews
        if r.round <= settled
        or (r.checker_id == actor.person_id and r.checker_id != request.author_id)
    ]


def get_request(session: Session, actor: Actor, *, request_id: int) -> RequestView:
    request = _visible(session, actor, request_id)
    files = [_file_view(f, o) for f, o in _files(session, request.id)]
    reviews = reviews_of(session, request.id)
    return RequestView(
        request=request,
        workspace=_workspace(session, request).name,
        files=files,
        reviews=[_review_view(r) for r in visible_reviews(actor, request, reviews)],
        reviews_this_round=sum(1 for r in reviews if r.round == request.round),
    )


def _file_view(file: ReleaseFile, output: WorkspaceOutput) -> FileView:
    return FileView(
        id=file.id,
        output_id=output.id,
        name=output.name,
        kind=output.kind,
        media_type=output.media_type,
        sha256=output.sha256,
        role=FileRole(file.role),
        justification=file.justification,
        underlying_output_id=file.underlying_output_id,
        exception=file.exception,
        check_status=CheckStatus(file.check_status) if file.check_status else None,
        check_report=file.check_report,
    )


def _review_view(review: Review) -> ReviewView:
    return ReviewView(
        id=review.id,
        round=review.round,
        checker_id=review.checker_id,
        decision=Decision(review.decision),
        comment=review.comment,
        file_notes=dict(review.file_notes or {}),
        decided_at=review.decided_at,
    )


def list_requests(
    session: Session, actor: Actor, *, workspace: str
) -> list[ReleaseRequest]:
    """The requests of a workspace, newest first: for its members."""
    policy.ensure(actor, "spe.workspace.use")
    found = workspaces.get_workspace(session, workspace)
    workspaces.ensure_member(session, actor, found)
    return list(
        session.scalars(
            select(ReleaseRequest)
            .where(ReleaseRequest.workspace_id == found.id)
            .order_by(ReleaseRequest.created_at.desc(), ReleaseRequest.id.desc())
        )
    )


# --- the author's verbs -------------------------------------------------------------------


def clean_text(value: str | None, field: str, *, limit: int = TEXT_MAX) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(
            f"The {field} is longer than {limit} characters.",
            errors=[FieldError(field, f"At most {limit} characters.")],
        )
    return value or None


def create_request(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    *,
    workspace: str,
    title: str,
    description: str = "",
) -> ReleaseRequest:
    """Open a draft release request in a workspace the actor is a member of."""
    policy.ensure(actor, "spe.workspace.use")
    found = workspaces.get_workspace(session, workspace)
    workspaces.ensure_member(session, actor, found)
    checked_title = clean_text(title, "title", limit=TITLE_MAX)
    if not checked_title:
        raise InvalidInput(
            "A release request needs a title.",
            errors=[FieldError("title", "Give the request a title.")],
        )
    assert actor.person_id is not None  # ensure_member admits people only
    request = ReleaseRequest(
        workspace_id=found.id,
        author_id=actor.person_id,
        title=checked_title,
        description=clean_text(description, "description") or "",
        status=RequestStatus.draft.value,
        round=0,
        created_at=config.now(),
    )
    session.add(request)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReleaseRequestCreated(
            request_id=request.id, workspace_id=found.id, title=request.title
        ),
    )
    return request


def output_of(
    session: Session, request: ReleaseRequest, output_id: int
) -> WorkspaceOutput:
    output = session.get(WorkspaceOutput, output_id)
    if output is None or output.workspace_id != request.workspace_id:
        raise NotFound(f"Workspace output {output_id} is not in this workspace.")
    return output


def add_file(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    *,
    request_id: int,
    output_id: int,
    role: FileRole = FileRole.output,
    justification: str | None = None,
    underlying_output_id: int | None = None,
    exception: str | None = None,
) -> ReleaseFile:
    """Put an output of the request's workspace into it."""
    request = _authored(session, actor, request_id)
    _editable(request)
    output = output_of(session, request, output_id)
    if output.kind == OutputKind.evidence:
        raise InvalidInput(
            "The evidence behind a table is for the output checkers and is never "
            "released; add the table itself.",
            errors=[FieldError("output_id", "Evidence files cannot be released.")],
        )
    if session.scalar(
        select(ReleaseFile.id).where(
            ReleaseFile.request_id == request.id, ReleaseFile.output_id == output.id
        )
    ):
        raise Conflict(f"Output {output.name!r} is in this request already.")
    if underlying_output_id is not None:
        _underlying(session, request, underlying_output_id)
    file = ReleaseFile(
        request_id=request.id,
        output_id=output.id,
        role=FileRole(role).value,
        justification=clean_text(justification, "justification"),
        underlying_output_id=underlying_output_id,
        exception=clean_text(exception, "exception"),
        added_at=config.now(),
    )
    session.add(file)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReleaseFileAdded(
            request_id=request.id,
            file_id=file.id,
            output_id=output.id,
            name=output.name,
            kind=output.kind,
            role=file.role,
            sha256=output.sha256,
        ),
    )
    return file


def _underlying(session: Session, request: ReleaseRequest, output_id: int) -> None:
    table = output_of(session, request, output_id)
    if table.kind != OutputKind.table:
        raise InvalidInput(
            "A figure's underlying output must be a table.",
            errors=[FieldError("underlying_output_id", f"{table.name} is no table.")],
        )


def file_of(session: Session, request: ReleaseRequest, file_id: int) -> ReleaseFile:
    file = session.get(ReleaseFile, file_id)
    if file is None or file.request_id != request.id:
        raise NotFound(f"Release request {request.id} has no file {file_id}.")
    return file


def update_file(
    session: Session,
    actor: Actor,
    config: SpeConfig,  # noqa: ARG001  (one signature for every verb)
    *,
    request_id: int,
    file_id: int,
    justification: str | None = None,
    underlying_output_id: int | None = None,
    exception: str | None = None,
) -> ReleaseFile:
    """Change what the checkers read about a file. None keeps a value; an empty text
    clears it, and so does ``underlying_output_id=0``."""
    request = _authored(session, actor, request_id)
    _editable(request)
    file = file_of(session, request, file_id)
    changed: list[str] = []
    if justification is not None:
        file.justification = clean_text(justification, "justification")
        changed.append("justification")
    if exception is not None:
        file.exception = clean_text(exception, "exception")
        changed.append("exception")
    if underlying_output_id is not None:
        if underlying_output_id:
            _underlying(session, request, underlying_output_id)
        file.underlying_output_id = underlying_output_id or None
        changed.append("underlying_output_id")
    file.check_status = file.check_report = file.checked_at = None
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReleaseFileChanged(
            request_id=request.id, file_id=file.id, fields=tuple(changed)
        ),
    )
    return file


def remove_file(
    session: Session,
    actor: Actor,
    config: SpeConfig,  # noqa: ARG001  (one signature for every verb)
    *,
    request_id: int,
    file_id: int,
) -> None:
    request = _authored(session, actor, request_id)
    _editable(request)
    file = file_of(session, request, file_id)
    output_id = file.output_id
    session.delete(file)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReleaseFileRemoved(request_id=request.id, file_id=file_id, output_id=output_id),
    )


def withdraw(
    session: Session, actor: Actor, config: SpeConfig, *, request_id: int
) -> ReleaseRequest:
    request = _authored(session, actor, request_id, lock=True)
    _editable(request)
    previous = request.status
    request.status = RequestStatus.withdrawn.value
    request.withdrawn_at = config.now()
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReleaseRequestWithdrawn(request_id=request.id, previous_status=previous),
    )
    return request


# --- checks and submission ----------------------------------------------------------------


def plaintext(session: Session, config: SpeConfig, output: WorkspaceOutput) -> bytes:
    # read_output refuses bytes whose SHA-256 is not the recorded one: what the checks
    # and the checkers saw is what leaves.
    return outputs.read_output(session, config, output)


def _evidence(session: Session, output: WorkspaceOutput) -> WorkspaceOutput | None:
    """The table's sidecar of cell statistics, made by the same job or query."""
    stem = PurePosixPath(output.name).stem
    names = {f"{output.name}.sdc.json", f"{stem}.sdc.json"}
    return session.scalars(
        select(WorkspaceOutput)
        .where(
            WorkspaceOutput.workspace_id == output.workspace_id,
            WorkspaceOutput.kind == OutputKind.evidence.value,
            WorkspaceOutput.origin == output.origin,
            WorkspaceOutput.name.in_(sorted(names)),
        )
        .order_by(WorkspaceOutput.id.desc())
        .limit(1)
    ).first()


def _check_data(
    session: Session, config: SpeConfig, output: WorkspaceOutput
) -> CheckResult:
    kind = output.kind
    if kind == OutputKind.table:
        sidecar = _evidence(session, output)
        evidence = None if sidecar is None else plaintext(session, config, sidecar)
        return checks.check_table(
            plaintext(session, config, output), config.rules, evidence=evidence
        )
    if kind == OutputKind.regression:
        return checks.check_regression(plaintext(session, config, output), config.rules)
    if kind == OutputKind.text:
        return checks.check_text()
    return CheckResult(
        CheckStatus.failed, (f"Outputs of kind {kind!r} are never released.",)
    )


def run_checks(
    session: Session, config: SpeConfig, request: ReleaseRequest
) -> dict[int, CheckResult]:
    """Check every file of the request and keep each verdict on its file."""
    files = _files(session, request.id)
    by_output = {o.id: (f, o) for f, o in files}
    results: dict[int, CheckResult] = {}
    for file, output in files:
        if output.kind != OutputKind.figure:
            results[file.id] = _check_data(session, config, output)
    for file, output in files:
        if output.kind == OutputKind.figure:
            table = by_output.get(file.underlying_output_id or -1)
            results[file.id] = checks.check_figure(
                media_type=output.media_type,
                justification=file.justification,
                underlying=None if table is None else results.get(table[0].id),
            )
    now = config.now()
    for file, _ in files:
        file.check_status = results[file.id].status.value
        file.check_report = results[file.id].to_json()
        file.checked_at = now
    session.flush()
    return results


def submit(
    session: Session, actor: Actor, config: SpeConfig, *, request_id: int
) -> ReleaseRequest:
    """Send a draft or returned request to the output checkers. An output file that
    fails its check blocks it, unless its author asked for an exception."""
    request = _authored(session, actor, request_id, lock=True)
    _editable(request)
    files = _files(session, request.id)
    if not any(f.role == FileRole.output for f, _ in files):
        raise InvalidInput(
            "A release request needs at least one output to release.",
            errors=[FieldError("files", "Add an output.")],
        )
    results = run_checks(session, config, request)
    blocking = [
        FieldError(f"files.{f.id}", f"{o.name}: {' '.join(results[f.id].reasons)}")
        for f, o in files
        if f.role == FileRole.output
        and results[f.id].status == CheckStatus.failed
        and not f.exception
    ]
    if blocking:
        raise InvalidInput(
            "Some outputs fail the automatic checks. Fix them, or explain in an "
            "exception request why they should be released.",
            errors=blocking,
        )
    request.status = RequestStatus.submitted.value
    request.round += 1
    request.submitted_at = config.now()
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReleaseRequestSubmitted(
            request_id=request.id,
            round=request.round,
            checks={
                str(f.id): results[f.id].status.value
                for f, _ in files
                if f.role == FileRole.output
            },
            exceptions=tuple(
                f.id
                for f, _ in files
                if f.exception and results[f.id].status == CheckStatus.failed
            ),
        ),
    )
    return request


# --- release ------------------------------------------------------------------------------


def download_file(
    session: Session, actor: Actor, config: SpeConfig, *, request_id: int, file_id: int
) -> ReleasedFile:
    """A member takes a released file out: an output file of an approved request."""
    policy.ensure(actor, "spe.workspace.use")
    request = load_request(session, request_id)
    workspace = _workspace(session, request)
    if not _is_member(actor, workspace):
        raise NotFound(f"There is no release request {request_id}.")
    workspaces.ensure_member(session, actor, workspace)
    if request.status != RequestStatus.approved:
        raise Forbidden(
            f"Release request {request.id} is {request.status}: only files of an "
            "approved request can be downloaded."
        )
    file = file_of(session, request, file_id)
    if file.role != FileRole.output:
        raise Forbidden(
            "Supporting files are for the output checkers; they are not released."
        )
    output = output_of(session, request, file.output_id)
    data = plaintext(session, config, output)
    ledger.record(
        session,
        actor.ref,
        ReleasedFileDownloaded(
            request_id=request.id,
            file_id=file.id,
            output_id=output.id,
            name=output.name,
            sha256=output.sha256,
        ),
    )
    return ReleasedFile(output.name, output.media_type, output.sha256, data)
