"""The commands that move an application through the procedure, and its legal clock.

``execute`` is the one door: it loads the application, checks the expected version, asks the
workflow whitelist whether the actor's parts allow the command, validates what the command
carries, appends the event (which ledgers it) and runs the command's consequences: the
permit on a grant, the notifications, the clock. Nothing else appends events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core.errors import Conflict, FieldError, InvalidInput
from datafactory.identity.actor import Actor
from datafactory.identity.models import Membership, Organisation, Role
from datafactory.permits import clocks, notifications
from datafactory.permits.applications import (
    append_event,
    facts_for,
    get_application,
    parties_of,
    people_by_email,
    view_of,
)
from datafactory.permits.completeness import check_completeness
from datafactory.permits.config import PermitsConfig
from datafactory.permits.issuing import issue_permit
from datafactory.permits.models import Application, ApplicationEvent, ApplicationParty
from datafactory.permits.regimes import ClockRules
from datafactory.permits.schemas import ApplicationForm, CommandIn
from datafactory.permits.workflow import (
    EVENT_OF,
    ApplicationView,
    Command,
    CommandRefused,
    Party,
    State,
    allowed_commands,
    check,
)

# Which clock mark each event makes (D6.4 §8: a request for information stops the clock,
# the answer restarts it).
CLOCK_MARKS = {
    "submitted": clocks.ClockMarkKind.started,
    "information_requested": clocks.ClockMarkKind.paused,
    "information_provided": clocks.ClockMarkKind.resumed,
    "deadline_extended": clocks.ClockMarkKind.extended,
    "granted": clocks.ClockMarkKind.stopped,
    "refused": clocks.ClockMarkKind.stopped,
    "withdrawn": clocks.ClockMarkKind.stopped,
    "closed_unanswered": clocks.ClockMarkKind.stopped,
}
_NEEDS_COMMENT = {
    Command.comment: "Write the comment.",
    Command.request_information: "Say what the applicant must add or explain.",
    Command.review: "Write the review.",
    Command.recommend: "Give the reasons for the recommendation.",
    Command.extend_deadline: "Give the reason for the extension (EHDS Art. 68(4)).",
    Command.grant: "Give the reasons for the decision; they are published.",
    Command.refuse: "Give the reasons for the refusal; they are published.",
    Command.remark: "Write the remark.",
}


def execute(
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    *,
    application_id: int,
    command: CommandIn,
    form: ApplicationForm | None = None,
) -> Application:
    """Run one workflow command on one application, or raise and change nothing."""
    application = get_application(session, actor, application_id)
    view = view_of(session, application)
    if (
        command.expected_version is not None
        and command.expected_version != view.version
    ):
        raise Conflict(
            f"The application changed since you loaded it (version {view.version}, "
            f"you saw {command.expected_version}). Reload it and try again.",
            extra={"version": view.version},
        )
    parties = parties_of(session, actor, application)
    try:
        check(view, parties, command.command)
    except CommandRefused as refused:
        raise Conflict(
            str(refused),
            extra={
                "state": refused.state.value,
                "allowed_commands": [c.value for c in refused.allowed],
            },
        ) from refused
    if command.command in _NEEDS_COMMENT and not command.comment.strip():
        raise InvalidInput(
            _NEEDS_COMMENT[command.command],
            errors=[FieldError("comment", _NEEDS_COMMENT[command.command])],
        )
    step = _STEPS.get(command.command)
    payload = (
        step(session, actor, config, application, view, command, form) if step else {}
    )
    if command.comment.strip():
        payload["comment"] = command.comment.strip()
    if command.command is Command.remark:
        payload["public"] = command.public
    now = config.now()
    event_type = EVENT_OF[command.command]
    view = append_event(session, actor, application, event_type, payload, now=now)
    if command.command is Command.grant:
        issue_permit(
            session,
            actor,
            config,
            application=application,
            reasons=command.comment.strip(),
            conditions=command.conditions.strip(),
        )
    if command.command in (Command.grant, Command.refuse):
        application.decision_reason = command.comment.strip()
    update_clock(session, config, application)
    _tell(session, actor, application, command, view)
    return application


Step = Callable[
    [
        Session,
        Actor,
        PermitsConfig,
        Application,
        ApplicationView,
        CommandIn,
        ApplicationForm | None,
    ],
    dict[str, Any],
]


def _save_draft(
    _session: Session,
    _actor: Actor,
    _config: PermitsConfig,
    application: Application,
    _view: ApplicationView,
    _command: CommandIn,
    form: ApplicationForm | None,
) -> dict[str, Any]:
    if form is None:
        raise InvalidInput(
            "Send the form to save.",
            errors=[FieldError("form", "The form is missing.")],
        )
    _keep_form(application, form)
    return {"form": form.model_dump(mode="json")}


def _keep_form(application: Application, form: ApplicationForm) -> None:
    application.form = form.model_dump(mode="json")
    application.title = form.title
    application.regime = form.regime
    application.organisation_id = form.organisation_id


def _submit(
    session: Session,
    _actor: Actor,
    config: PermitsConfig,
    application: Application,
    _view: ApplicationView,
    _command: CommandIn,
    form: ApplicationForm | None,
) -> dict[str, Any]:
    if form is not None:
        _keep_form(application, form)
    _refuse_gaps(session, config, application)
    current = ApplicationForm.model_validate(application.form)
    team = people_by_email(
        session, [current.principal_investigator, *(m.email for m in current.team)]
    )
    for person in team.values():
        if person.id != application.applicant_id:
            _add_party(session, application, person.id, Party.member)
    return {"form": current.model_dump(mode="json")}


def _refuse_gaps(
    session: Session, config: PermitsConfig, application: Application
) -> None:
    form = ApplicationForm.model_validate(application.form)
    gaps = check_completeness(form, facts_for(session, config, application))
    missing = [g for g in gaps if g.severity == "missing"]
    if missing:
        raise InvalidInput(
            f"The application is not complete: {len(missing)} item(s) missing.",
            errors=[FieldError(g.field, g.message) for g in missing],
        )


def _provide_information(
    session: Session,
    _actor: Actor,
    config: PermitsConfig,
    application: Application,
    _view: ApplicationView,
    command: CommandIn,
    form: ApplicationForm | None,
) -> dict[str, Any]:
    if form is None and not command.comment.strip():
        raise InvalidInput(
            "Answer the request: change the form, write an answer, or both.",
            errors=[FieldError("comment", "Write your answer.")],
        )
    payload: dict[str, Any] = {}
    if form is not None:
        _keep_form(application, form)
        _refuse_gaps(session, config, application)
        payload["form"] = form.model_dump(mode="json")
    return payload


def _invite_assistant(
    session: Session,
    _actor: Actor,
    _config: PermitsConfig,
    application: Application,
    _view: ApplicationView,
    command: CommandIn,
    _form: ApplicationForm | None,
) -> dict[str, Any]:
    email = (command.assistant_email or "").strip().lower()
    person = people_by_email(session, [email]).get(email)
    if person is None or not _holds(session, person.id, Role.assistant):
        raise InvalidInput(
            f"{email or 'Nobody'} is not an assistant of the national data service.",
            errors=[FieldError("assistant_email", "Give the address of an assistant.")],
        )
    _add_party(session, application, person.id, Party.assistant)
    return {"person_id": person.id}


def _request_review(
    session: Session,
    actor: Actor,
    _config: PermitsConfig,
    application: Application,
    _view: ApplicationView,
    command: CommandIn,
    _form: ApplicationForm | None,
) -> dict[str, Any]:
    if not command.reviewer_emails:
        raise InvalidInput(
            "Name at least one reviewer.",
            errors=[FieldError("reviewer_emails", "Name at least one reviewer.")],
        )
    found = people_by_email(session, command.reviewer_emails)
    errors = [
        FieldError(f"reviewer_emails.{i}", f"{email} has no account.")
        for i, email in enumerate(command.reviewer_emails)
        if email.strip().lower() not in found
    ]
    own = {
        p.person_id
        for p in session.scalars(
            select(ApplicationParty).where(
                ApplicationParty.application_id == application.id,
                ApplicationParty.party.in_([Party.applicant, Party.member]),
            )
        )
    }
    errors += [
        FieldError("reviewer_emails", f"{p.email} takes part in the application.")
        for p in found.values()
        if p.id in own or p.id == actor.person_id
    ]
    if errors:
        raise InvalidInput(
            "Some reviewers cannot review this application.", errors=errors
        )
    for person in found.values():
        _add_party(session, application, person.id, Party.reviewer)
    return {"reviewer_ids": sorted(p.id for p in found.values())}


def _review(
    _session: Session,
    actor: Actor,
    _config: PermitsConfig,
    _application: Application,
    view: ApplicationView,
    command: CommandIn,
    _form: ApplicationForm | None,
) -> dict[str, Any]:
    if view.reviewers.get(actor.person_id or 0) is None:
        raise Conflict("Nobody asked you to review this application.")
    payload: dict[str, Any] = {"person_id": actor.person_id}
    if command.recommendation is not None:
        payload["recommendation"] = command.recommendation.value
    return payload


def _recommend(
    _session: Session,
    _actor: Actor,
    _config: PermitsConfig,
    _application: Application,
    _view: ApplicationView,
    command: CommandIn,
    _form: ApplicationForm | None,
) -> dict[str, Any]:
    if command.recommendation is None:
        raise InvalidInput(
            "Recommend a positive or a negative decision.",
            errors=[FieldError("recommendation", "Choose POSITIVE or NEGATIVE.")],
        )
    return {"recommendation": command.recommendation.value}


def _grant(
    session: Session,
    _actor: Actor,
    config: PermitsConfig,
    application: Application,
    _view: ApplicationView,
    command: CommandIn,
    _form: ApplicationForm | None,
) -> dict[str, Any]:
    # The form was complete at submission, but the catalogue may have moved since.
    _refuse_gaps(session, config, application)
    return {"conditions": command.conditions.strip()}


def _close_unanswered(
    session: Session,
    _actor: Actor,
    config: PermitsConfig,
    application: Application,
    _view: ApplicationView,
    _command: CommandIn,
    _form: ApplicationForm | None,
) -> dict[str, Any]:
    clock = clock_of(session, config, application)
    today = clocks.local_date(config.now())
    if clock.answer_due is not None and today <= clock.answer_due:
        raise Conflict(
            f"The applicant has until {clock.answer_due.isoformat()} to answer.",
            extra={"answer_due": clock.answer_due.isoformat()},
        )
    return {}


_STEPS: dict[Command, Step] = {
    Command.save_draft: _save_draft,
    Command.submit: _submit,
    Command.provide_information: _provide_information,
    Command.invite_assistant: _invite_assistant,
    Command.request_review: _request_review,
    Command.review: _review,
    Command.recommend: _recommend,
    Command.grant: _grant,
    Command.close_unanswered: _close_unanswered,
}


def _add_party(
    session: Session, application: Application, person_id: int, party: Party
) -> None:
    exists = session.scalar(
        select(ApplicationParty.id).where(
            ApplicationParty.application_id == application.id,
            ApplicationParty.person_id == person_id,
            ApplicationParty.party == party.value,
        )
    )
    if exists is None:
        session.add(
            ApplicationParty(
                application_id=application.id, person_id=person_id, party=party.value
            )
        )


def _holds(session: Session, person_id: int, role: Role) -> bool:
    return (
        session.scalar(
            select(Membership.id).where(
                Membership.person_id == person_id, Membership.role == role.value
            )
        )
        is not None
    )


# --- the legal clock --------------------------------------------------------------------


def rules_for(
    session: Session, config: PermitsConfig, application: Application
) -> ClockRules | None:
    if application.regime not in config.regimes:
        return None
    form = ApplicationForm.model_validate(application.form)
    organisation = (
        session.get(Organisation, application.organisation_id)
        if application.organisation_id
        else None
    )
    rules = config.regimes.get(application.regime).clocks
    return rules.for_applicant(
        bool(organisation and organisation.is_public_sector), form.purposes
    )


def clock_of(
    session: Session, config: PermitsConfig, application: Application
) -> clocks.Clock:
    rules = rules_for(session, config, application)
    if rules is None:
        return clocks.Clock()
    marks = [
        clocks.ClockMark(CLOCK_MARKS[e.type], e.at)
        for e in session.scalars(
            select(ApplicationEvent)
            .where(
                ApplicationEvent.application_id == application.id,
                ApplicationEvent.type.in_(list(CLOCK_MARKS)),
            )
            .order_by(ApplicationEvent.seq)
        )
    ]
    return clocks.compute_clock(rules, marks)


def update_clock(
    session: Session, config: PermitsConfig, application: Application
) -> None:
    clock = clock_of(session, config, application)
    if clock.due != application.deadline:
        application.reminded = []
    application.deadline = clock.due
    application.clock = clock.state.value


def allowed_for(
    session: Session, actor: Actor, application: Application
) -> list[Command]:
    view = view_of(session, application)
    return sorted(allowed_commands(view, parties_of(session, actor, application)))


# --- who hears about it -----------------------------------------------------------------


def _authority_staff(session: Session, role: Role) -> list[int]:
    return list(
        session.scalars(
            select(Membership.person_id).where(Membership.role == role.value).distinct()
        )
    )


def _parties(session: Session, application: Application, *parties: Party) -> list[int]:
    return list(
        session.scalars(
            select(ApplicationParty.person_id).where(
                ApplicationParty.application_id == application.id,
                ApplicationParty.party.in_([p.value for p in parties]),
            )
        )
    )


def _tell(
    session: Session,
    actor: Actor,
    application: Application,
    command: CommandIn,
    view: ApplicationView,
) -> None:
    link = f"/applications/{application.id}"
    ref = application.reference
    applicants = _parties(session, application, Party.applicant, Party.member)
    messages: dict[Command, tuple[list[int], str]] = {
        Command.submit: (
            _authority_staff(session, Role.handler),
            f"New application {ref} to screen.",
        ),
        Command.request_information: (
            applicants,
            f"The authority asks for more information on {ref}.",
        ),
        Command.provide_information: (
            _authority_staff(session, Role.handler),
            f"The applicant answered on {ref}.",
        ),
        Command.invite_assistant: (
            _parties(session, application, Party.assistant),
            f"You are invited to comment on the draft {ref}.",
        ),
        Command.request_review: (
            [int(p) for p, done in view.reviewers.items() if not done],
            f"Please review application {ref}.",
        ),
        Command.recommend: (
            _authority_staff(session, Role.decider),
            f"Application {ref} awaits your decision.",
        ),
        Command.grant: (applicants, f"Application {ref} was granted."),
        Command.refuse: (applicants, f"Application {ref} was refused."),
        Command.close_unanswered: (
            applicants,
            f"Application {ref} was closed: the request for information went "
            "unanswered.",
        ),
    }
    if command.command not in messages:
        return
    people, subject = messages[command.command]
    people = [p for p in people if p != actor.person_id]
    if people:
        notifications.notify(
            session,
            person_ids=people,
            subject=subject,
            body=f"{subject}\n\n{application.title}",
            link=link,
        )


# --- the daily round --------------------------------------------------------------------


def send_reminders(session: Session, config: PermitsConfig, today: date) -> int:
    """Remind the handlers of running deadlines at the configured lead times; each lead
    time once per deadline. Returns how many reminders went out."""
    sent = 0
    handlers = _authority_staff(session, Role.handler)
    running = session.scalars(
        select(Application).where(Application.clock == "running")
    ).all()
    for application in running:
        rules = rules_for(session, config, application)
        if rules is None:
            continue
        clock = clock_of(session, config, application)
        due_now = [
            lead
            for lead in clocks.reminders_due(
                clock, today, rules.reminder_lead_working_days
            )
            if lead not in (application.reminded or [])
        ]
        overdue = clocks.is_overdue(clock, today) and -1 not in (
            application.reminded or []
        )
        if not due_now and not overdue:
            continue
        subject = (
            f"Application {application.reference} is overdue (due {clock.due})."
            if overdue
            else f"Application {application.reference}: decision due {clock.due}."
        )
        notifications.notify(
            session,
            person_ids=handlers,
            subject=subject,
            body=subject,
            link=f"/applications/{application.id}",
        )
        application.reminded = [
            *(application.reminded or []),
            *due_now,
            *([-1] if overdue else []),
        ]
        sent += 1
    return sent


def is_open(application: Application) -> bool:
    return application.state in {
        s.value
        for s in (
            State.SUBMITTED,
            State.PRE_SCREENING,
            State.AWAITING_ADDITIONAL_INFORMATION,
            State.PROCESSING,
        )
    }
