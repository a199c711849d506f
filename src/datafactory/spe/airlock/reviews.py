"""The output checkers' side of a release request: their queue, opening a file under
review, and the review itself.

Two checkers review each submission round independently. The author never reviews, even
when they hold the output checker role. The second review of a round concludes it: both
approve → approved (and the code is archived, :mod:`.archive`); either rejects →
rejected; otherwise the request returns to its author. The request's row is locked while a
review is recorded, so two checkers deciding at once cannot both be "the first".
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import datafactory.spe.policy as _rules  # noqa: F401  (the spe.* rules)
from datafactory.core import ledger
from datafactory.core.errors import Conflict, FieldError, Forbidden, InvalidInput
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.spe.airlock import archive
from datafactory.spe.airlock.events import (
    ReleaseFileInspected,
    ReleaseRequestConcluded,
    ReleaseReviewed,
)
from datafactory.spe.airlock.models import (
    Decision,
    ReleaseFile,
    ReleaseRequest,
    RequestStatus,
    Review,
)
from datafactory.spe.airlock.requests import (
    REVIEWS_NEEDED,
    ReleasedFile,
    clean_text,
    file_of,
    load_request,
    output_of,
    plaintext,
    reviews_of,
)
from datafactory.spe.config import SpeConfig


def checker_queue(session: Session, actor: Actor) -> list[ReleaseRequest]:
    """Submitted requests waiting for this checker: never their own, never one they
    reviewed in this round, oldest submission first."""
    policy.ensure(actor, "spe.output.check")
    mine = (
        select(Review.id)
        .where(
            Review.request_id == ReleaseRequest.id,
            Review.round == ReleaseRequest.round,
            Review.checker_id == actor.person_id,
        )
        .exists()
    )
    in_round = (
        select(func.count(Review.id))
        .where(
            Review.request_id == ReleaseRequest.id,
            Review.round == ReleaseRequest.round,
        )
        .scalar_subquery()
    )
    return list(
        session.scalars(
            select(ReleaseRequest)
            .where(
                ReleaseRequest.status == RequestStatus.submitted.value,
                ReleaseRequest.author_id != actor.person_id,
                ~mine,
                in_round < REVIEWS_NEEDED,
            )
            .order_by(ReleaseRequest.submitted_at, ReleaseRequest.id)
        )
    )


def _checking(
    session: Session, actor: Actor, request_id: int, *, lock: bool = False
) -> ReleaseRequest:
    policy.ensure(actor, "spe.output.check")
    request = load_request(session, request_id, lock=lock)
    if request.author_id == actor.person_id:
        raise Forbidden("The author of a release request cannot review it.")
    if request.status != RequestStatus.submitted:
        raise Conflict(
            f"Release request {request.id} is {request.status}, not waiting for "
            "output checkers.",
            extra={"status": request.status},
        )
    return request


def review(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    *,
    request_id: int,
    decision: Decision,
    comment: str = "",
    file_notes: Mapping[int, str] | None = None,
) -> Review:
    """Record one checker's decision; the second decision of a round concludes it."""
    request = _checking(session, actor, request_id, lock=True)
    assert actor.person_id is not None  # output checkers are people
    decision = Decision(decision)
    text = clean_text(comment, "comment") or ""
    if decision != Decision.approve and not text:
        raise InvalidInput(
            "Say why in a comment when you reject or request changes.",
            errors=[FieldError("comment", "A comment is required.")],
        )
    notes = _notes(session, request, file_notes or {})
    current = reviews_of(session, request.id, request.round)
    if any(r.checker_id == actor.person_id for r in current):
        raise Conflict("You have reviewed this round of the request already.")
    if len(current) >= REVIEWS_NEEDED:
        raise Conflict("This round has its two reviews already.")
    made = Review(
        request_id=request.id,
        round=request.round,
        checker_id=actor.person_id,
        decision=decision.value,
        comment=text,
        file_notes=notes or None,
        decided_at=config.now(),
    )
    session.add(made)
    session.flush()
    current.append(made)
    ledger.record(
        session,
        actor.ref,
        ReleaseReviewed(
            request_id=request.id,
            round=request.round,
            review_id=made.id,
            decision=decision.value,
            reviews=len(current),
        ),
    )
    if len(current) == REVIEWS_NEEDED:
        _conclude(
            session, actor, config, request, [Decision(r.decision) for r in current]
        )
    return made


def _notes(
    session: Session, request: ReleaseRequest, file_notes: Mapping[int, str]
) -> dict[str, str]:
    known = set(
        session.scalars(
            select(ReleaseFile.id).where(ReleaseFile.request_id == request.id)
        )
    )
    notes: dict[str, str] = {}
    for file_id, note in file_notes.items():
        if file_id not in known:
            raise InvalidInput(
                f"Release request {request.id} has no file {file_id}.",
                errors=[FieldError(f"file_notes.{file_id}", "No such file.")],
            )
        text = clean_text(note, f"file_notes.{file_id}")
        if text:
            notes[str(file_id)] = text
    return notes


def outcome_of(decisions: list[Decision]) -> RequestStatus:
    if all(d == Decision.approve for d in decisions):
        return RequestStatus.approved
    if any(d == Decision.reject for d in decisions):
        return RequestStatus.rejected
    return RequestStatus.returned


def _conclude(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    request: ReleaseRequest,
    decisions: list[Decision],
) -> None:
    outcome = outcome_of(decisions)
    now = config.now()
    request.status = outcome.value
    if outcome == RequestStatus.returned:
        request.returned_at = now
    else:
        request.decided_at = now
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReleaseRequestConcluded(
            request_id=request.id,
            round=request.round,
            outcome=outcome.value,
            decisions=tuple(d.value for d in decisions),
        ),
    )
    if outcome == RequestStatus.approved:
        archive.publish_release(session, config, request)


def inspect_file(
    session: Session, actor: Actor, config: SpeConfig, *, request_id: int, file_id: int
) -> ReleasedFile:
    """An output checker opens a file of a request they are reviewing."""
    request = _checking(session, actor, request_id)
    file = file_of(session, request, file_id)
    output = output_of(session, request, file.output_id)
    data = plaintext(session, config, output)
    ledger.record(
        session,
        actor.ref,
        ReleaseFileInspected(
            request_id=request.id,
            file_id=file.id,
            output_id=output.id,
            sha256=output.sha256,
        ),
    )
    return ReleasedFile(output.name, output.media_type, output.sha256, data)
