"""The application's state machine: the TEHDAS2 D6.4 states, who may do what in each, and
the fold that turns an application's events into its current state.

Pure: values in, values out. The service stores events and calls :func:`check` before
appending one and :func:`project` to read the state; nothing else decides a transition.

The whitelist is REMS's "master workflow + command whitelist" (ADR 008), with the decider
workflow: the handler does the back-and-forth and recommends, and only a decider grants or
refuses. A command not listed for a (state, party) pair is refused, so a new command is
never exposed by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    PRE_SCREENING = "PRE_SCREENING"
    AWAITING_ADDITIONAL_INFORMATION = "AWAITING_ADDITIONAL_INFORMATION"
    PROCESSING = "PROCESSING"
    DECISION_ISSUED = "DECISION_ISSUED"
    WITHDRAWN = "WITHDRAWN"


class Decision(StrEnum):
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"


class Party(StrEnum):
    """The part a person plays on one application (not a platform role)."""

    applicant = "applicant"
    member = "member"
    assistant = "assistant"
    handler = "handler"
    reviewer = "reviewer"
    decider = "decider"


class Command(StrEnum):
    save_draft = "save_draft"
    invite_assistant = "invite_assistant"
    comment = "comment"
    submit = "submit"
    start_screening = "start_screening"
    request_information = "request_information"
    provide_information = "provide_information"
    start_processing = "start_processing"
    request_review = "request_review"
    review = "review"
    recommend = "recommend"
    extend_deadline = "extend_deadline"
    grant = "grant"
    refuse = "refuse"
    withdraw = "withdraw"
    close_unanswered = "close_unanswered"
    remark = "remark"


# The event each command appends (its past tense), and the state it leads to (None: stays).
EVENT_OF: Mapping[Command, str] = {
    Command.save_draft: "draft_saved",
    Command.invite_assistant: "assistant_invited",
    Command.comment: "commented",
    Command.submit: "submitted",
    Command.start_screening: "screening_started",
    Command.request_information: "information_requested",
    Command.provide_information: "information_provided",
    Command.start_processing: "processing_started",
    Command.request_review: "review_requested",
    Command.review: "reviewed",
    Command.recommend: "recommended",
    Command.extend_deadline: "deadline_extended",
    Command.grant: "granted",
    Command.refuse: "refused",
    Command.withdraw: "withdrawn",
    Command.close_unanswered: "closed_unanswered",
    Command.remark: "remarked",
}
COMMAND_OF: Mapping[str, Command] = {event: c for c, event in EVENT_OF.items()}

_OPEN = (
    State.SUBMITTED,
    State.PRE_SCREENING,
    State.AWAITING_ADDITIONAL_INFORMATION,
    State.PROCESSING,
)

_A, _M, _S, _H, _R, _D = (
    Party.applicant,
    Party.member,
    Party.assistant,
    Party.handler,
    Party.reviewer,
    Party.decider,
)
C = Command

WHITELIST: Mapping[State, Mapping[Party, frozenset[Command]]] = {
    State.DRAFT: {
        _A: frozenset({C.save_draft, C.invite_assistant, C.submit, C.withdraw}),
        _M: frozenset({C.comment}),
        _S: frozenset({C.comment}),
    },
    State.SUBMITTED: {
        _A: frozenset({C.withdraw}),
        _H: frozenset({C.start_screening, C.remark}),
        _D: frozenset({C.remark}),
    },
    State.PRE_SCREENING: {
        _A: frozenset({C.withdraw}),
        _H: frozenset(
            {C.request_information, C.start_processing, C.extend_deadline, C.remark}
        ),
        # An inadmissible application is refused at screening; only a decider refuses.
        _D: frozenset({C.refuse, C.remark}),
    },
    State.AWAITING_ADDITIONAL_INFORMATION: {
        _A: frozenset({C.provide_information, C.withdraw}),
        _S: frozenset({C.comment}),
        _H: frozenset({C.close_unanswered, C.remark}),
    },
    State.PROCESSING: {
        _A: frozenset({C.withdraw}),
        _H: frozenset(
            {
                C.request_information,
                C.request_review,
                C.recommend,
                C.extend_deadline,
                C.remark,
            }
        ),
        _R: frozenset({C.review, C.remark}),
        _D: frozenset({C.grant, C.refuse, C.remark}),
    },
    State.DECISION_ISSUED: {},
    State.WITHDRAWN: {},
}

# D6.4's allowed moves; the property test checks that no command sequence leaves them.
TRANSITIONS: Mapping[State, frozenset[State]] = {
    State.DRAFT: frozenset({State.SUBMITTED, State.WITHDRAWN}),
    State.SUBMITTED: frozenset({State.PRE_SCREENING, State.WITHDRAWN}),
    State.PRE_SCREENING: frozenset(
        {
            State.AWAITING_ADDITIONAL_INFORMATION,
            State.PROCESSING,
            State.DECISION_ISSUED,
            State.WITHDRAWN,
        }
    ),
    State.AWAITING_ADDITIONAL_INFORMATION: frozenset(
        {State.PRE_SCREENING, State.PROCESSING, State.WITHDRAWN}
    ),
    State.PROCESSING: frozenset(
        {
            State.AWAITING_ADDITIONAL_INFORMATION,
            State.DECISION_ISSUED,
            State.WITHDRAWN,
        }
    ),
    State.DECISION_ISSUED: frozenset(),
    State.WITHDRAWN: frozenset(),
}


@dataclass(frozen=True)
class Event:
    """One thing that happened to an application, as stored."""

    seq: int
    type: str
    actor: str
    at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicationView:
    """The state of an application, computed from its events and nothing else."""

    state: State = State.DRAFT
    decision: Decision | None = None
    version: int = 0
    """The number of events so far: the expected version for optimistic concurrency."""
    resume_to: State | None = None
    """While awaiting information, the phase the application returns to."""
    extended: bool = False
    reviewers: Mapping[int, bool] = field(default_factory=dict)
    """Person id → whether that reviewer has answered."""
    assistants: frozenset[int] = frozenset()
    recommendation: str | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    processing_at: datetime | None = None
    decided_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state in _OPEN

    @property
    def label(self) -> str:
        """D6.4's name, with the decision folded in: POSITIVE_DECISION_ISSUED."""
        if self.state is State.DECISION_ISSUED and self.decision is not None:
            return f"{self.decision.value}_DECISION_ISSUED"
        return self.state.value


class CommandRefused(Exception):
    """A command outside the whitelist of the application's state for the actor's parts."""

    def __init__(
        self, command: Command, state: State, allowed: Iterable[Command]
    ) -> None:
        self.command = command
        self.state = state
        self.allowed = sorted(allowed)
        listed = ", ".join(self.allowed) or "none"
        super().__init__(
            f"'{command}' is not possible while the application is {state.value}; "
            f"you may: {listed}."
        )


def allowed_commands(view: ApplicationView, parties: Iterable[Party]) -> set[Command]:
    table = WHITELIST[view.state]
    commands: set[Command] = set()
    for party in parties:
        commands |= table.get(party, frozenset())
    if view.extended:
        commands.discard(Command.extend_deadline)
    return commands


def check(view: ApplicationView, parties: Iterable[Party], command: Command) -> None:
    """Refuse a command the whitelist does not give any of the actor's parties."""
    allowed = allowed_commands(view, parties)
    if command not in allowed:
        raise CommandRefused(command, view.state, allowed)


def apply(view: ApplicationView, event: Event) -> ApplicationView:
    """The state after one more event. Unknown event types leave the state unchanged."""
    view = replace(view, version=event.seq)
    match event.type:
        case "created":
            return replace(view, created_at=event.at)
        case "assistant_invited":
            person = int(event.payload["person_id"])
            return replace(view, assistants=view.assistants | {person})
        case "submitted":
            return replace(view, state=State.SUBMITTED, submitted_at=event.at)
        case "screening_started":
            return replace(view, state=State.PRE_SCREENING)
        case "information_requested":
            return replace(
                view,
                state=State.AWAITING_ADDITIONAL_INFORMATION,
                resume_to=view.state,
            )
        case "information_provided":
            return replace(
                view, state=view.resume_to or State.PRE_SCREENING, resume_to=None
            )
        case "processing_started":
            return replace(view, state=State.PROCESSING, processing_at=event.at)
        case "review_requested":
            added = {int(p): False for p in event.payload.get("reviewer_ids", [])}
            return replace(view, reviewers={**added, **view.reviewers})
        case "reviewed":
            person = int(event.payload["person_id"])
            return replace(view, reviewers={**view.reviewers, person: True})
        case "recommended":
            return replace(view, recommendation=str(event.payload["recommendation"]))
        case "deadline_extended":
            return replace(view, extended=True)
        case "granted":
            return replace(
                view,
                state=State.DECISION_ISSUED,
                decision=Decision.POSITIVE,
                decided_at=event.at,
            )
        case "refused":
            return replace(
                view,
                state=State.DECISION_ISSUED,
                decision=Decision.NEGATIVE,
                decided_at=event.at,
            )
        case "withdrawn" | "closed_unanswered":
            return replace(view, state=State.WITHDRAWN, decided_at=event.at)
    return view


def project(events: Iterable[Event]) -> ApplicationView:
    view = ApplicationView()
    for event in events:
        view = apply(view, event)
    return view
