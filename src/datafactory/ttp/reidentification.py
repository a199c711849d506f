"""Controlled re-identification: a pseudonym back to its identifier, by four eyes.

A TTP operator requests it with a legal reason (a court order reference and article, say).
A second, different TTP operator approves or refuses. Only then, and only once, the
requester sees the identifier, which is opened from the domain's mapping table with the
domain's sealing key. Every step is ledgered; the identifier never is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.db import utcnow
from datafactory.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.privacy.pseudonyms import is_well_formed
from datafactory.ttp import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.domains import find_domain
from datafactory.ttp.errors import KeyCustodyError, RequestNotOpen, SameOperator
from datafactory.ttp.events import (
    IdentifierRevealed,
    ReidentificationApproved,
    ReidentificationRefused,
    ReidentificationRequested,
)
from datafactory.ttp.keyring import Keyring
from datafactory.ttp.models import (
    DomainPseudonym,
    PseudonymDomain,
    ReidentificationRequest,
    RequestStatus,
)

MIN_REASON = 20
MAX_REASON = 2000


def request_reidentification(
    session: Session,
    actor: Actor,
    *,
    domain: str,
    pseudonym: str,
    legal_reason: str,
    now: datetime | None = None,
) -> ReidentificationRequest:
    """Ask to re-identify ``pseudonym`` of ``domain``; a second operator must approve."""
    policy.ensure(actor, "ttp.reidentify")
    assert actor.person_id is not None  # the rule admits signed-in people only
    found = find_domain(session, domain)
    pseudonym = pseudonym.strip()
    reason = " ".join(legal_reason.split())
    _check_request(pseudonym, reason)
    _mapping_row(session, found, pseudonym)
    request = ReidentificationRequest(
        domain_id=found.id,
        pseudonym=pseudonym,
        legal_reason=reason,
        status=RequestStatus.pending.value,
        requested_by=actor.person_id,
        requested_at=now or utcnow(),
    )
    session.add(request)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        ReidentificationRequested(request.id, found.name, pseudonym, reason),
    )
    return request


def _check_request(pseudonym: str, reason: str) -> None:
    errors = []
    if not is_well_formed(pseudonym):
        errors.append(FieldError("pseudonym", "This is not a pseudonym of ours."))
    if len(reason) < MIN_REASON:
        errors.append(
            FieldError(
                "legal_reason",
                f"State the legal reason in at least {MIN_REASON} characters: the "
                "order or request, its reference and the article it rests on.",
            )
        )
    if len(reason) > MAX_REASON:
        errors.append(
            FieldError("legal_reason", f"Keep it under {MAX_REASON} characters.")
        )
    if errors:
        raise InvalidInput(
            "The re-identification request is incomplete.", errors=errors
        )


def _mapping_row(
    session: Session, domain: PseudonymDomain, pseudonym: str
) -> DomainPseudonym:
    row = session.scalar(
        select(DomainPseudonym).where(
            DomainPseudonym.domain_id == domain.id,
            DomainPseudonym.pseudonym == pseudonym,
        )
    )
    if row is None:
        raise NotFound(f"{domain.name} never handed out the pseudonym {pseudonym}.")
    return row


def approve(
    session: Session,
    approver: Actor,
    *,
    request_id: int,
    now: datetime | None = None,
) -> ReidentificationRequest:
    """The second operator's yes. The requester can never approve their own request."""
    policy.ensure(approver, "ttp.reidentify")
    request = _pending(session, request_id)
    if approver.person_id == request.requested_by:
        raise SameOperator(
            "You made this request; a second, different TTP operator must approve it."
        )
    assert approver.person_id is not None
    request.status = RequestStatus.approved.value
    request.decided_by = approver.person_id
    request.decided_at = now or utcnow()
    session.flush()
    ledger.record(
        session,
        approver.ref,
        ReidentificationApproved(request.id, request.requested_by, approver.person_id),
    )
    return request


def refuse(
    session: Session,
    actor: Actor,
    *,
    request_id: int,
    reason: str,
    now: datetime | None = None,
) -> ReidentificationRequest:
    """A no, by the second operator or the requester withdrawing."""
    policy.ensure(actor, "ttp.reidentify")
    assert actor.person_id is not None
    request = _pending(session, request_id)
    why = " ".join(reason.split())[:MAX_REASON]
    if not why:
        raise InvalidInput(
            "Say why the request is refused.",
            errors=[FieldError("reason", "A refusal gives its reason.")],
        )
    request.status = RequestStatus.refused.value
    request.decided_by = actor.person_id
    request.decided_at = now or utcnow()
    request.refusal_reason = why
    session.flush()
    ledger.record(
        session, actor.ref, ReidentificationRefused(request.id, actor.person_id, why)
    )
    return request


def reveal(
    session: Session, actor: Actor, config: TtpConfig, *, request_id: int
) -> str:
    """The identifier behind an approved request's pseudonym, for its requester, once."""
    policy.ensure(actor, "ttp.reidentify")
    request = _load(session, request_id)
    if actor.person_id != request.requested_by:
        raise Forbidden("Only the operator who made the request may see its result.")
    if request.status != RequestStatus.approved:
        raise RequestNotOpen(_not_open(request, "revealed"))
    domain = session.get_one(PseudonymDomain, request.domain_id)
    row = _mapping_row(session, domain, request.pseudonym)
    keys = Keyring(session, config, actor.ref).domain_keys(domain, row.key_version)
    identifier = keys.open(row.sealed, row.pseudonym)
    if keys.pseudonymiser.one(identifier) != row.pseudonym:
        raise KeyCustodyError(
            f"The identifier opened for request {request.id} does not give its "
            "pseudonym back: the keys are not the ones it was made with."
        )
    request.status = RequestStatus.revealed.value
    request.revealed_at = config.now()
    session.flush()
    ledger.record(
        session,
        actor.ref,
        IdentifierRevealed(request.id, domain.name, row.pseudonym, row.key_version),
    )
    return identifier


def list_requests(
    session: Session, actor: Actor, *, status: RequestStatus | None = None
) -> list[tuple[ReidentificationRequest, str]]:
    """Requests (newest first) with their domain's name; ``status`` filters."""
    policy.ensure(actor, "ttp.reidentify")
    query = (
        select(ReidentificationRequest, PseudonymDomain.name)
        .join(PseudonymDomain, PseudonymDomain.id == ReidentificationRequest.domain_id)
        .order_by(ReidentificationRequest.id.desc())
    )
    if status is not None:
        query = query.where(ReidentificationRequest.status == status.value)
    return [(request, name) for request, name in session.execute(query)]


def _load(session: Session, request_id: int) -> ReidentificationRequest:
    request = session.scalar(
        select(ReidentificationRequest)
        .where(ReidentificationRequest.id == request_id)
        .with_for_update()
    )
    if request is None:
        raise NotFound(f"There is no re-identification request {request_id}.")
    return request


def _pending(session: Session, request_id: int) -> ReidentificationRequest:
    request = _load(session, request_id)
    if request.status != RequestStatus.pending:
        raise RequestNotOpen(_not_open(request, "decided"))
    return request


def _not_open(request: ReidentificationRequest, step: str) -> str:
    state = {
        RequestStatus.pending: "waits for a second operator's approval",
        RequestStatus.approved: "is approved",
        RequestStatus.refused: "was refused",
        RequestStatus.revealed: "was revealed already; make a new request",
    }[RequestStatus(request.status)]
    return f"Request {request.id} {state}, so it cannot be {step}."
