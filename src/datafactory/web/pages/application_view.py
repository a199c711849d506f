"""How an application is shown to the people taking part in it: the words for states,
commands and events, the deadline, the command forms, the timeline and the answers.

``handling.py`` holds the routes; this module holds what they render, so that the page
routes stay short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from babel.dates import format_date, format_time
from fastapi import Depends, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core.errors import FieldError, InvalidInput
from datafactory.identity.models import Organisation, Person
from datafactory.permits import applications, clocks, procedure
from datafactory.permits.completeness import PROHIBITED_USE_TEXT
from datafactory.permits.config import PermitsConfig
from datafactory.permits.facts import ApplicationFacts
from datafactory.permits.models import Application, ApplicationParty
from datafactory.permits.schemas import ApplicationForm, CommandIn
from datafactory.permits.workflow import (
    Command,
    Event,
    Party,
    State,
)
from datafactory.web.i18n import current_language
from datafactory.web.messages import N_

# --- words ------------------------------------------------------------------------------
# Marked with N_ for extraction; the templates translate them with _().

STATUS_WORDS: Mapping[str, str] = {
    "DRAFT": N_("Draft"),
    "SUBMITTED": N_("Submitted"),
    "PRE_SCREENING": N_("Pre-screening"),
    "AWAITING_ADDITIONAL_INFORMATION": N_("Awaiting additional information"),
    "PROCESSING": N_("Processing"),
    "DECISION_ISSUED": N_("Decision issued"),
    "POSITIVE_DECISION_ISSUED": N_("Decision issued: permit granted"),
    "NEGATIVE_DECISION_ISSUED": N_("Decision issued: refused"),
    "WITHDRAWN": N_("Withdrawn"),
}

COMMAND_WORDS: Mapping[str, str] = {
    "save_draft": N_("Save the draft"),
    "invite_assistant": N_("Invite an assistant"),
    "comment": N_("Comment"),
    "submit": N_("Submit"),
    "start_screening": N_("Start screening"),
    "request_information": N_("Request information"),
    "provide_information": N_("Provide the information"),
    "start_processing": N_("Start processing"),
    "request_review": N_("Request a review"),
    "review": N_("Send your review"),
    "recommend": N_("Recommend a decision"),
    "extend_deadline": N_("Extend the deadline"),
    "grant": N_("Grant the permit"),
    "refuse": N_("Refuse the application"),
    "withdraw": N_("Withdraw the application"),
    "close_unanswered": N_("Close as unanswered"),
    "remark": N_("Add a remark"),
}

DONE_WORDS: Mapping[str, str] = {
    "comment": N_("Your comment was added."),
    "start_screening": N_("Screening has started."),
    "request_information": N_(
        "The request for information was sent; the legal clock is paused."
    ),
    "provide_information": N_(
        "Your answer was sent to the data authority; the legal clock runs again."
    ),
    "start_processing": N_("Processing has started."),
    "request_review": N_("The reviewers were asked for their review."),
    "review": N_("Your review was sent."),
    "recommend": N_("Your recommendation was sent to the deciders."),
    "extend_deadline": N_("The deadline was extended."),
    "grant": N_("The permit was granted."),
    "refuse": N_("The application was refused."),
    "withdraw": N_("The application was withdrawn."),
    "close_unanswered": N_("The application was closed as unanswered."),
    "remark": N_("Your remark was added."),
}

# The label of each form's text box; a command missing here has none.
COMMENT_LABELS: Mapping[str, str] = {
    "comment": N_("Comment"),
    "request_information": N_("What must the applicant add or explain?"),
    "provide_information": N_("Your answer"),
    "request_review": N_("Message to the reviewers (optional)"),
    "review": N_("Your review"),
    "recommend": N_("Reasons for the recommendation"),
    "extend_deadline": N_("Reason for the extension"),
    "grant": N_("Reasons for the decision (published)"),
    "refuse": N_("Reasons for the refusal (published)"),
    "remark": N_("Remark"),
    "withdraw": N_("Reason (optional)"),
}

COMMAND_HINTS: Mapping[str, str] = {
    "start_screening": N_("Check that the application is admissible and complete."),
    "request_information": N_(
        "The legal clock stops until the applicant answers; the applicant sees "
        "your request."
    ),
    "provide_information": N_(
        "Answer the data authority's request. The legal clock restarts when you send it."
    ),
    "start_processing": N_("The application is complete: assess it on its merits."),
    "request_review": N_(
        "Reviewers need an account; they see the application and send their review."
    ),
    "recommend": N_("A decider takes the decision on your recommendation."),
    "extend_deadline": N_(
        "The decision period may be extended once, with reasons (EHDS Art. 68(4))."
    ),
    "grant": N_(
        "A permit is issued to the applicant and their team; the reasons are published."
    ),
    "refuse": N_("The reasons are published and sent to the applicant."),
    "withdraw": N_("A withdrawn application cannot be reopened."),
    "close_unanswered": N_(
        "Possible once the applicant's time to answer has passed: the application is "
        "closed."
    ),
    "remark": N_("A remark is internal unless you show it to the applicant."),
}

# Commands needing a text: their text box is marked required.
REQUIRED_COMMENT = frozenset(
    {
        "comment",
        "request_information",
        "provide_information",
        "review",
        "recommend",
        "extend_deadline",
        "grant",
        "refuse",
        "remark",
    }
)

EVENT_WORDS: Mapping[str, str] = {
    "created": N_("Application started"),
    "draft_saved": N_("Draft saved"),
    "assistant_invited": N_("Assistant invited"),
    "commented": N_("Comment"),
    "submitted": N_("Submitted"),
    "screening_started": N_("Screening started"),
    "information_requested": N_("Information requested"),
    "information_provided": N_("Information provided"),
    "processing_started": N_("Processing started"),
    "review_requested": N_("Review requested"),
    "reviewed": N_("Review sent"),
    "recommended": N_("Decision recommended"),
    "deadline_extended": N_("Deadline extended"),
    "granted": N_("Permit granted"),
    "refused": N_("Application refused"),
    "withdrawn": N_("Withdrawn"),
    "closed_unanswered": N_("Closed: the request for information went unanswered"),
    "remarked": N_("Remark"),
}

DECISION_WORDS: Mapping[str, str] = {
    "POSITIVE": N_("Positive: grant the permit"),
    "NEGATIVE": N_("Negative: refuse the application"),
}

KIND_WORDS: Mapping[str, str] = {
    "new": N_("New application"),
    "amendment": N_("Amendment of a permit"),
    "renewal": N_("Renewal of a permit"),
}

CRITERION_WORDS: Mapping[str, str] = {
    "purposes_allowed": N_("The purposes are allowed for this applicant"),
    "prohibited_uses_declared": N_("The prohibited uses are declared"),
    "direct_identifiers": N_("Direct identifiers"),
    "sensitive_data": N_("Special categories of personal data"),
    "anonymisation": N_("Anonymised or pseudonymised data"),
    "duration": N_("Duration of the permit"),
    "datasets_protected": N_("The datasets need a permit"),
}

OUTCOME_WORDS: Mapping[str, str] = {
    "met": N_("Met"),
    "not_met": N_("Not met"),
    "attention": N_("Needs attention"),
}

SENSITIVITY_WORDS: Mapping[str, str] = {
    "direct_identifier": N_("Direct identifier"),
    "quasi_identifier": N_("Quasi-identifier"),
    "sensitive": N_("Special category"),
    "other": N_("Other"),
    "": N_("Not in the data dictionary"),
}

DATA_FORM_WORDS: Mapping[str, str] = {
    "anonymised": N_("Anonymised"),
    "pseudonymised": N_("Pseudonymised"),
    "aggregated": N_("Aggregated"),
}

ETHICS_WORDS: Mapping[str, str] = {
    "approved": N_("Approved"),
    "pending": N_("Pending"),
    "not_required": N_("Not required"),
    "": N_("Not stated"),
}

# The commands this page has a form for, in the order it shows them; the wizard sends
# the others (save_draft, submit, invite_assistant).
PAGE_COMMANDS: tuple[Command, ...] = (
    Command.start_screening,
    Command.request_information,
    Command.start_processing,
    Command.request_review,
    Command.review,
    Command.recommend,
    Command.grant,
    Command.refuse,
    Command.extend_deadline,
    Command.provide_information,
    Command.comment,
    Command.remark,
    Command.close_unanswered,
    Command.withdraw,
)
# The fields a command form has; an error about another field goes in the summary.
FORM_FIELDS = ("comment", "reviewer_emails", "recommendation", "conditions", "public")

# Events nobody needs in the timeline: every autosave of a draft.
HIDDEN_EVENTS = frozenset({"draft_saved"})
APPLICANT_SIDE = frozenset({Party.applicant, Party.member, Party.assistant})
OPEN_STATES = (
    State.SUBMITTED,
    State.PRE_SCREENING,
    State.AWAITING_ADDITIONAL_INFORMATION,
    State.PROCESSING,
)
QUEUE_STATES = (*OPEN_STATES, State.DECISION_ISSUED, State.WITHDRAWN)


def label_of(application: Application) -> str:
    """D6.4's status name from the stored projection, e.g. POSITIVE_DECISION_ISSUED."""
    if application.state == State.DECISION_ISSUED.value and application.decision:
        return f"{application.decision}_DECISION_ISSUED"
    return application.state


def legal_basis(code: str) -> str:
    """``art9-2-j`` → ``GDPR Art. 9(2)(j)``."""
    match = re.fullmatch(r"art(\d+)-(\d+)-([a-z])", code)
    if match is None:
        return code
    article, paragraph, point = match.groups()
    return f"GDPR Art. {article}({paragraph})({point})"


# --- dates ------------------------------------------------------------------------------


def _locale() -> str:
    """Babel's locale for the page's language; British English for English, as the
    authority writes dates day first."""
    lang = current_language.get()
    return "en_GB" if lang == "en" else lang


def day_text(value: date | None) -> str:
    if value is None:
        return ""
    return format_date(value, format="long", locale=_locale())


def moment_text(value: datetime | None) -> str:
    """A moment in Luxembourg time: the date, then the time of day."""
    if value is None:
        return ""
    local = value.astimezone(clocks.LUXEMBOURG)
    return (
        f"{format_date(local.date(), format='long', locale=_locale())}, "
        f"{format_time(local.time(), format='short', locale=_locale())}"
    )


def local_iso(value: datetime) -> str:
    return value.astimezone(clocks.LUXEMBOURG).isoformat(timespec="minutes")


@dataclass(frozen=True)
class Deadline:
    """The legal clock of one application, as the pages show it."""

    clock: str
    due: date | None = None
    remaining: int | None = None
    answer_due: date | None = None
    extended: bool = False

    @property
    def overdue_by(self) -> int:
        return (
            -self.remaining if self.remaining is not None and self.remaining < 0 else 0
        )


def deadline_of(
    session: Session, config: PermitsConfig, application: Application, today: date
) -> Deadline:
    clock = procedure.clock_of(session, config, application)
    return Deadline(
        clock=clock.state.value,
        due=clock.due if clock.due is not None else application.deadline,
        remaining=clocks.remaining_working_days(clock, today),
        answer_due=clock.answer_due,
        extended=clock.extended,
    )


def today_for(config: PermitsConfig) -> date:
    return clocks.local_date(config.now())


# --- the command forms ------------------------------------------------------------------


@dataclass(frozen=True)
class SentCommand:
    """What a command form posted, kept to fill the form again on an error."""

    command: str = ""
    expected_version: str = ""
    comment: str = ""
    reviewer_emails: str = ""
    recommendation: str = ""
    conditions: str = ""
    public: bool = False

    def value(self, name: str) -> Any:
        return getattr(self, name, "")

    def to_command(self) -> CommandIn:
        """The command to execute, or InvalidInput naming the fields."""
        if self.command not in Command.__members__:
            raise InvalidInput(
                "This action is not known. Reload the page and try again.",
                errors=[FieldError("command", "Choose one of the actions offered.")],
            )
        version: int | None = None
        if self.expected_version.strip():
            if not self.expected_version.strip().isdigit():
                raise InvalidInput(
                    "The form is damaged. Reload the page and try again.",
                    errors=[FieldError("expected_version", "Reload the page.")],
                )
            version = int(self.expected_version.strip())
        emails = [e for e in re.split(r"[\s,;]+", self.reviewer_emails) if e]
        try:
            return CommandIn.model_validate(
                {
                    "command": self.command,
                    "expected_version": version,
                    "comment": self.comment,
                    "reviewer_emails": emails,
                    "recommendation": self.recommendation or None,
                    "conditions": self.conditions,
                    "public": self.public,
                }
            )
        except ValidationError as invalid:
            errors = [
                FieldError(
                    str(error["loc"][0]) if error["loc"] else "form", error["msg"]
                )
                for error in invalid.errors()
            ]
            raise InvalidInput(
                "Some of what you wrote cannot be accepted.", errors=errors
            ) from None


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _sent(request: Request) -> SentCommand:
    form = await request.form()
    return SentCommand(
        command=_text(form, "command"),
        expected_version=_text(form, "expected_version"),
        comment=_text(form, "comment"),
        reviewer_emails=_text(form, "reviewer_emails"),
        recommendation=_text(form, "recommendation"),
        conditions=_text(form, "conditions"),
        public=_text(form, "public") in ("1", "on", "true"),
    )


Sent = Annotated[SentCommand, Depends(_sent)]


def field_errors(problem: InvalidInput | None) -> dict[str, str]:
    """Form field → its messages (``reviewer_emails.1`` belongs to ``reviewer_emails``)."""
    found: dict[str, list[str]] = {}
    for error in problem.errors if problem else []:
        name = error.field.split(".")[0]
        if name in FORM_FIELDS:
            found.setdefault(name, []).append(error.message)
    return {name: " ".join(messages) for name, messages in found.items()}


# --- the timeline -----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One event as a party sees it."""

    seq: int
    type: str
    at: datetime
    who: str | None
    """A person's name; None for the authority (to the applicant) or the platform."""
    by_platform: bool
    comment: str
    public: bool = False
    recommendation: str | None = None
    conditions: str = ""
    reviewers: list[str] = field(default_factory=list)


def _person_id(ref: str) -> int | None:
    kind, _, rest = ref.partition(":")
    return int(rest) if kind == "person" and rest.isdigit() else None


def timeline(
    session: Session,
    application: Application,
    events: Sequence[Event],
    *,
    internal: bool,
) -> list[Entry]:
    """The events the viewer may see, newest last. The applicant's side sees neither the
    reviews nor the recommendations, nor remarks not marked public, nor staff names."""
    applicant_side = set(
        session.scalars(
            select(ApplicationParty.person_id).where(
                ApplicationParty.application_id == application.id,
                ApplicationParty.party.in_([p.value for p in APPLICANT_SIDE]),
            )
        )
    )
    ids: set[int] = set()
    for event in events:
        if (person := _person_id(event.actor)) is not None:
            ids.add(person)
        ids |= {int(p) for p in event.payload.get("reviewer_ids", [])}
    names = (
        {
            p.id: p.name
            for p in session.scalars(select(Person).where(Person.id.in_(ids)))
        }
        if ids
        else {}
    )
    entries = []
    for event in events:
        public = bool(event.payload.get("public", False))
        if event.type in HIDDEN_EVENTS:
            continue
        if not applications.visible(event, internal=internal):
            continue
        person = _person_id(event.actor)
        shown = person is not None and (internal or person in applicant_side)
        recommendation = event.payload.get("recommendation")
        entries.append(
            Entry(
                seq=event.seq,
                type=event.type,
                at=event.at,
                who=names.get(person, event.actor) if shown and person else None,
                by_platform=person is None,
                comment=str(event.payload.get("comment", "")),
                public=public,
                recommendation=str(recommendation) if recommendation else None,
                conditions=str(event.payload.get("conditions", "")),
                reviewers=[
                    names.get(int(p), f"#{p}")
                    for p in event.payload.get("reviewer_ids", [])
                ]
                if internal
                else [],
            )
        )
    return entries


# --- the answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class VariableRow:
    name: str
    sensitivity: str
    justification: str


@dataclass(frozen=True)
class DatasetRow:
    id: str
    title: str
    exists: bool
    variables: list[VariableRow]


def answers_of(
    session: Session,
    config: PermitsConfig,
    application: Application,
    form: ApplicationForm,
    facts: ApplicationFacts,
) -> dict[str, Any]:
    lang = current_language.get()
    regime = config.regimes.get(form.regime) if form.regime in config.regimes else None
    purposes = []
    for code in form.purposes:
        try:
            purpose = regime.purpose(code) if regime else None
        except KeyError:
            purpose = None
        purposes.append(
            (purpose.label.get(lang), purpose.article) if purpose else (code, "")
        )

    def title(dataset_id: str) -> str:
        found = facts.datasets.get(dataset_id)
        return found.title if found is not None and found.title else dataset_id

    datasets = []
    for request in form.datasets:
        found = facts.datasets.get(request.dataset_id)
        known = found.variables if found is not None else {}
        datasets.append(
            DatasetRow(
                id=request.dataset_id,
                title=title(request.dataset_id),
                exists=found is not None and found.exists,
                variables=[
                    VariableRow(
                        v.name,
                        known[v.name].value if v.name in known else "",
                        v.justification,
                    )
                    for v in request.variables
                ],
            )
        )
    organisation_id = form.organisation_id or application.organisation_id
    organisation = (
        session.get(Organisation, organisation_id) if organisation_id else None
    )
    applicant = session.get(Person, application.applicant_id)
    declared = set(form.prohibited_uses_declared)
    return {
        "regime": regime.title.get(lang) if regime else form.regime,
        "regime_reference": regime.reference if regime else "",
        "purposes": purposes,
        "datasets": datasets,
        "linkages": [
            (title(link.datasets[0]), title(link.datasets[1]), link.justification)
            for link in form.linkages
        ],
        "legal_bases": [legal_basis(b.value) for b in form.legal_bases],
        "organisation": organisation.name if organisation else "",
        "applicant": applicant,
        "declarations": [
            (text, use in declared) for use, text in PROHIBITED_USE_TEXT.items()
        ],
    }
