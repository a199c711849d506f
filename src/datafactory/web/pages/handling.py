"""The access procedure's pages for everyone who takes part in an application.

``/applications/{id}`` is the one page each party sees, cut to their part: the answers, the
files, the timeline, the legal deadline, the handler's criteria checks (authority staff
only) and one form per command the actor may send now. Every form posts to
``/applications/{id}/commands``, which goes through ``procedure.execute`` like the API
does. ``/authority/queue`` is the handler's queue and ``/reviews`` a reviewer's list.

The wizard that writes a draft (``/applications/new``, ``/applications/{id}/edit``) lives
elsewhere; a draft's applicant is sent there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core.errors import Conflict, InvalidInput
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Role
from datafactory.permits import applications, procedure
from datafactory.permits.config import PermitsConfig
from datafactory.permits.criteria import Criterion, check_criteria
from datafactory.permits.models import Application, ApplicationParty, Permit
from datafactory.permits.policy import is_authority_staff
from datafactory.permits.schemas import ApplicationForm
from datafactory.permits.workflow import (
    ApplicationView,
    Party,
    State,
)
from datafactory.web.api.permits import ConfigDep, content_disposition
from datafactory.web.deps import SessionDep, allow
from datafactory.web.messages import N_
from datafactory.web.pages import page_router
from datafactory.web.pages.application_view import (
    COMMAND_HINTS,
    COMMAND_WORDS,
    COMMENT_LABELS,
    CRITERION_WORDS,
    DATA_FORM_WORDS,
    DECISION_WORDS,
    DONE_WORDS,
    ETHICS_WORDS,
    EVENT_WORDS,
    KIND_WORDS,
    OPEN_STATES,
    OUTCOME_WORDS,
    PAGE_COMMANDS,
    QUEUE_STATES,
    REQUIRED_COMMENT,
    SENSITIVITY_WORDS,
    STATUS_WORDS,
    Deadline,
    Sent,
    SentCommand,
    answers_of,
    day_text,
    deadline_of,
    field_errors,
    label_of,
    legal_basis,
    local_iso,
    moment_text,
    timeline,
    today_for,
)
from datafactory.web.templating import render

router = page_router("permits")
Participant = Annotated[Actor, Depends(allow("permits.application.use"))]
Authority = Annotated[Actor, Depends(allow("permits.queue.view"))]

PAGE_SIZE = 25
# The most applications read at once to count reviews and recommendations.
SCAN_LIMIT = 500

# --- the application page ---------------------------------------------------------------


def _may_see_criteria(actor: Actor) -> bool:
    return is_authority_staff(actor)


def _allowed(session: Session, actor: Actor, application: Application) -> list[str]:
    allowed = set(procedure.allowed_for(session, actor, application))
    return [c.value for c in PAGE_COMMANDS if c in allowed]


def _back_link(actor: Actor, parties: set[Party]) -> tuple[str, str]:
    if is_authority_staff(actor):
        return "/authority/queue", N_("Back to the queue")
    if Party.reviewer in parties:
        return "/reviews", N_("Back to my reviews")
    return "/applications", N_("Back to my applications")


def application_page(
    request: Request,
    session: Session,
    config: PermitsConfig,
    actor: Actor,
    application_id: int,
    *,
    done: str | None = None,
    problem: InvalidInput | None = None,
    conflict: Conflict | None = None,
    sent: SentCommand | None = None,
) -> Any:
    application = applications.get_application(session, actor, application_id)
    view: ApplicationView = applications.view_of(session, application)
    parties = applications.parties_of(session, actor, application)
    internal = applications.sees_internal(session, actor, application)
    form = ApplicationForm.model_validate(application.form)
    facts = applications.facts_for(session, config, application)
    today = today_for(config)
    criteria: list[Criterion] = (
        check_criteria(form, facts) if _may_see_criteria(actor) else []
    )
    attachments = applications.attachments_of(session, application)
    permit = session.scalar(
        select(Permit).where(Permit.application_id == application.id)
    )
    allowed = _allowed(session, actor, application)
    back_href, back_text = _back_link(actor, parties)
    errors = field_errors(problem)
    summary = [
        (e.message, e.field.split(".")[0] if e.field.split(".")[0] in errors else None)
        for e in (problem.errors if problem else [])
    ]
    context = {
        "application": application,
        "view": view,
        "label": view.label,
        "form": form,
        "answers": answers_of(session, config, application, form, facts),
        "attachments": attachments,
        "attachment_names": {a.id: a.filename for a in attachments},
        "deadline": deadline_of(session, config, application, today),
        "entries": timeline(
            session,
            application,
            applications.events_of(session, application),
            internal=internal,
        ),
        "criteria": criteria,
        "show_criteria": _may_see_criteria(actor),
        "permit": permit,
        "allowed": allowed,
        "pending_reviewers": sum(1 for d in view.reviewers.values() if not d),
        "my_review_pending": actor.person_id is not None
        and view.reviewers.get(actor.person_id) is False,
        "done": done if done in DONE_WORDS else None,
        "problem": problem,
        "summary": summary,
        "field_errors": errors,
        "conflict": conflict,
        "failed": sent.command if sent and (problem or conflict) else None,
        "sent": sent or SentCommand(),
        "back_href": back_href,
        "back_text": back_text,
        "internal": internal,
        "is_applicant": Party.applicant in parties,
        "day": day_text,
        "moment": moment_text,
        "local_iso": local_iso,
        "legal_basis": legal_basis,
        "words": WORDS,
        "required_comment": REQUIRED_COMMENT,
    }
    status = 409 if conflict else 422 if problem else 200
    return render(request, "application.html", context, status_code=status)


WORDS: Mapping[str, Mapping[str, str]] = {
    "status": STATUS_WORDS,
    "command": COMMAND_WORDS,
    "done": DONE_WORDS,
    "comment_label": COMMENT_LABELS,
    "hint": COMMAND_HINTS,
    "event": EVENT_WORDS,
    "decision": DECISION_WORDS,
    "kind": KIND_WORDS,
    "criterion": CRITERION_WORDS,
    "outcome": OUTCOME_WORDS,
    "sensitivity": SENSITIVITY_WORDS,
    "data_form": DATA_FORM_WORDS,
    "ethics": ETHICS_WORDS,
}


@router.get("/applications/{application_id}")
def application_view(
    application_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """One application as the actor's parts on it let them see it."""
    application = applications.get_application(session, actor, application_id)
    if application.state == State.DRAFT.value and Party.applicant in (
        applications.parties_of(session, actor, application)
    ):
        return RedirectResponse(f"/applications/{application_id}/edit", 303)
    return application_page(request, session, config, actor, application_id, done=done)


@router.post("/applications/{application_id}/commands")
def send_command(
    application_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
    sent: Sent,
) -> Any:
    """Run one command from the application page and come back to it."""
    try:
        command = sent.to_command()
        procedure.execute(
            session, actor, config, application_id=application_id, command=command
        )
    except InvalidInput as problem:
        # Nothing the failed command touched may be committed with the page.
        session.rollback()
        return application_page(
            request, session, config, actor, application_id, problem=problem, sent=sent
        )
    except Conflict as conflict:
        session.rollback()
        return application_page(
            request,
            session,
            config,
            actor,
            application_id,
            conflict=conflict,
            sent=sent,
        )
    return RedirectResponse(
        f"/applications/{application_id}?done={command.command.value}",
        status_code=303,
    )


@router.get("/applications/{application_id}/attachments/{attachment_id}")
def attachment_download(
    application_id: int,
    attachment_id: int,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
) -> Response:
    """A file kept with an application, for its parties and the authority."""
    attachment, data = applications.read_attachment(
        session,
        actor,
        config,
        application_id=application_id,
        attachment_id=attachment_id,
    )
    return Response(
        data,
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- the queue --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One application in a list."""

    id: int
    reference: str
    title: str
    organisation: str
    label: str
    deadline: Deadline


def rows_of(
    session: Session,
    config: PermitsConfig,
    items: Iterable[Application],
    today: date,
) -> list[Row]:
    rows = []
    for application in items:
        organisation = (
            session.get(Organisation, application.organisation_id)
            if application.organisation_id
            else None
        )
        rows.append(
            Row(
                id=application.id,
                reference=application.reference,
                title=application.title,
                organisation=organisation.name if organisation else "",
                label=label_of(application),
                deadline=deadline_of(session, config, application, today),
            )
        )
    return rows


def _states(chosen: Sequence[str] | None) -> list[State]:
    wanted = [State(s) for s in chosen or () if s in {q.value for q in QUEUE_STATES}]
    return wanted or list(OPEN_STATES)


def _list_context() -> dict[str, Any]:
    return {
        "day": day_text,
        "words": WORDS,
    }


@router.get("/authority/queue")
def queue_page(
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Authority,
    state: Annotated[list[str] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Any:
    """The handler's queue: soonest deadline first, the overdue apart, and what waits
    for a review or a decision."""
    today = today_for(config)
    states = _states(state)
    found = applications.list_queue(
        session, actor, states=states, page=page, page_size=PAGE_SIZE
    )
    overdue = applications.list_queue(
        session, actor, overdue_on=today, page_size=SCAN_LIMIT
    )
    processing = applications.list_queue(
        session, actor, states=[State.PROCESSING], page_size=SCAN_LIMIT
    )
    views = {a.id: applications.view_of(session, a) for a in processing.items}
    awaiting_review = [
        a
        for a in processing.items
        if any(not d for d in views[a.id].reviewers.values())
    ]
    awaiting_decision = [
        a for a in processing.items if views[a.id].recommendation is not None
    ]
    is_decider = actor.has_role(Role.decider)
    chosen = {s.value for s in states}

    def page_link(number: int) -> str:
        kept = [("state", s.value) for s in states]
        return "/authority/queue?" + urlencode([*kept, ("page", str(number))])

    context = {
        **_list_context(),
        "mode": "queue",
        "rows": rows_of(session, config, found.items, today),
        "total": found.total,
        "overdue": rows_of(session, config, overdue.items, today),
        "overdue_total": overdue.total,
        "awaiting_review": rows_of(session, config, awaiting_review, today),
        "awaiting_decision": rows_of(session, config, awaiting_decision, today)
        if is_decider
        else None,
        "awaiting_decision_total": len(awaiting_decision),
        "recommendations": {
            a.id: views[a.id].recommendation for a in awaiting_decision
        },
        "queue_states": [s.value for s in QUEUE_STATES],
        "chosen": chosen,
        "page": page,
        "pages": max(1, -(-found.total // PAGE_SIZE)),
        "page_link": page_link,
    }
    return render(request, "queue.html", context)


# --- reviews ----------------------------------------------------------------------------


@router.get("/reviews")
def reviews_page(
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
) -> Any:
    """The applications I was asked to review: those waiting for me, then those done."""
    today = today_for(config)
    mine = select(ApplicationParty.application_id).where(
        ApplicationParty.person_id == actor.person_id,
        ApplicationParty.party == Party.reviewer.value,
    )
    found = session.scalars(
        select(Application)
        .where(Application.id.in_(mine))
        .order_by(Application.deadline.is_(None), Application.deadline, Application.id)
    ).all()
    pending, given = [], []
    for application in found:
        view = applications.view_of(session, application)
        answered = view.reviewers.get(actor.person_id or 0)
        if answered is False and view.state is State.PROCESSING:
            pending.append(application)
        elif answered:
            given.append(application)
    context = {
        **_list_context(),
        "mode": "reviews",
        "pending": rows_of(session, config, pending, today),
        "given": rows_of(session, config, given, today),
    }
    return render(request, "queue.html", context)
