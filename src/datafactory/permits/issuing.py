"""Permits: issued on a positive decision, amended or renewed through the same procedure,
revoked by a decider, expired by the daily job; and the credentials that prove them.

The scope is frozen into the permit at issuance (datasets, variables, form, the aggregate
tables of the aggregated form, purposes, named users, period, conditions) and signed as a JWS, so the secure processing environment can
enforce it without trusting the portal's database. Each named user also gets one GA4GH
ControlledAccessGrants visa per dataset, verifiable with ``/.well-known/jwks.json``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from datafactory.catalogue import rdf
from datafactory.core import ledger
from datafactory.core.errors import Conflict, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.permits import clocks, credentials, notifications
from datafactory.permits.config import PermitsConfig
from datafactory.permits.events import PermitChanged, PermitGranted
from datafactory.permits.models import Application, ApplicationParty, Permit
from datafactory.permits.schemas import ApplicationForm, ApplicationKind, DataForm
from datafactory.permits.workflow import Party

IN_FORCE = ("GRANTED", "AMENDED", "RENEWED")


def _users(session: Session, application: Application) -> list[int]:
    return sorted(
        set(
            session.scalars(
                select(ApplicationParty.person_id).where(
                    ApplicationParty.application_id == application.id,
                    ApplicationParty.party.in_(
                        [Party.applicant.value, Party.member.value]
                    ),
                )
            )
        )
    )


def scope_of(
    config: PermitsConfig,
    application: Application,
    users: list[int],
    conditions: str,
    starts_on: date,
    ends_on: date,
) -> dict[str, object]:
    form = ApplicationForm.model_validate(application.form)
    return {
        "application": application.reference,
        "regime": form.regime,
        "purposes": form.purposes,
        "purpose_detail": form.purpose_detail,
        "form": form.data_form.value if form.data_form else None,
        "datasets": [
            {
                "id": d.dataset_id,
                "uri": str(rdf.dataset_uri(config.base_url, d.dataset_id)),
                "variables": [v.name for v in d.variables],
            }
            for d in form.datasets
        ],
        "linkages": [list(link.datasets) for link in form.linkages],
        # Only the aggregated form is prepared as named tables; for the other forms the
        # tables a draft kept are not part of what was granted.
        "aggregate_tables": [
            {
                "name": t.name,
                "dataset": t.dataset_id,
                "group_by": list(t.group_by),
                "measures": list(t.measures),
            }
            for t in form.aggregate_tables
        ]
        if form.data_form is DataForm.aggregated
        else [],
        "users": users,
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
        "conditions": conditions,
    }


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clocks.LUXEMBOURG).astimezone(UTC)


def _end_of(day: date) -> datetime:
    """A permit holds through its last day, Luxembourg time."""
    return _moment(day + timedelta(days=1))


def _sign(config: PermitsConfig, permit: Permit, now: datetime) -> str:
    return credentials.sign_permit(
        config.permit_key,
        issuer=config.base_url,
        permit_id=permit.reference,
        permit=permit.scope,
        issued_at=now,
        starts_at=_moment(permit.starts_on),
        expires_at=_end_of(permit.ends_on),
        jwks_url=config.jwks_url,
    )


def issue_permit(
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    *,
    application: Application,
    reasons: str,
    conditions: str,
) -> Permit:
    """Called by the procedure on a grant: a new permit, or the amended or renewed one."""
    form = ApplicationForm.model_validate(application.form)
    now = config.now()
    today = clocks.local_date(now)
    users = _users(session, application)
    duration = form.duration_months or 12
    if application.kind != ApplicationKind.new.value and application.permit_id:
        permit = session.get(Permit, application.permit_id)
        if permit is None or permit.status not in IN_FORCE:
            raise Conflict("The permit to change is no longer in force.")
        if application.kind == ApplicationKind.renewal.value:
            permit.ends_on = clocks.add_months(permit.ends_on, duration)
            status = "RENEWED"
        else:
            status = "AMENDED"
        permit.status = status
        permit.scope = scope_of(
            config, application, users, conditions, permit.starts_on, permit.ends_on
        )
        permit.changed_at = now
        permit.token = _sign(config, permit, now)
        ledger.record(
            session,
            actor.ref,
            PermitChanged(
                permit_id=permit.id,
                status=status,
                application_id=application.id,
                reason=reasons,
                ends_on=permit.ends_on.isoformat(),
            ),
        )
        _announce(session, config, permit, status)
        return permit
    starts_on = max(form.start_date or today, today)
    ends_on = clocks.add_months(starts_on, duration)
    permit = Permit(
        # Numbered from the row's id once flushed: counting rows would give two permits
        # granted at the same moment the same reference.
        reference=f"pending-{uuid.uuid4().hex[:24]}",
        application_id=application.id,
        holder_id=application.applicant_id,
        organisation_id=application.organisation_id,
        regime=application.regime,
        status="GRANTED",
        scope=scope_of(config, application, users, conditions, starts_on, ends_on),
        starts_on=starts_on,
        ends_on=ends_on,
        granted_at=now,
        changed_at=now,
        token="",
    )
    session.add(permit)
    session.flush()
    permit.reference = f"PRM-{now.year}-{permit.id:05d}"
    permit.token = _sign(config, permit, now)
    ledger.record(
        session,
        actor.ref,
        PermitGranted(
            permit_id=permit.id,
            reference=permit.reference,
            application_id=application.id,
            users=tuple(users),
            datasets=tuple(form.dataset_ids()),
            starts_on=starts_on.isoformat(),
            ends_on=ends_on.isoformat(),
            token_sha256=hashlib.sha256(permit.token.encode()).hexdigest(),
        ),
    )
    _announce(session, config, permit, "GRANTED")
    return permit


def _announce(
    session: Session, config: PermitsConfig, permit: Permit, what: str
) -> None:
    for listener in config.listeners:
        listener(session, permit, what)


def get_permit(session: Session, actor: Actor, permit_id: int) -> Permit:
    """A permit for its users and the authority's staff."""
    policy.ensure(actor, "permits.application.use")
    permit = session.get(Permit, permit_id)
    if permit is None or not (
        actor.person_id in permit.scope.get("users", [])
        or policy.allowed(actor, "permits.queue.view")
    ):
        raise NotFound(f"There is no permit {permit_id}.")
    return permit


def permits_of(session: Session, actor: Actor) -> list[Permit]:
    """The permits that name the actor. A permit's users are the applicant and team of the
    application that granted it or of a later amendment, so only those permits are read;
    the frozen scope decides."""
    policy.ensure(actor, "permits.application.use")
    mine = select(ApplicationParty.application_id).where(
        ApplicationParty.person_id == actor.person_id,
        ApplicationParty.party.in_([Party.applicant.value, Party.member.value]),
    )
    changed = select(Application.permit_id).where(Application.id.in_(mine))
    candidates = session.scalars(
        select(Permit)
        .where(or_(Permit.application_id.in_(mine), Permit.id.in_(changed)))
        .order_by(Permit.id.desc())
    )
    return [p for p in candidates if actor.person_id in p.scope.get("users", [])]


def revoke_permit(
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    *,
    permit_id: int,
    reason: str,
) -> Permit:
    policy.ensure(actor, "permits.permit.revoke")
    permit = get_permit(session, actor, permit_id)
    if permit.status not in IN_FORCE:
        raise Conflict(
            f"Permit {permit.reference} is {permit.status}; only a permit in force can "
            "be revoked.",
            extra={"status": permit.status},
        )
    now = config.now()
    permit.status = "REVOKED"
    permit.revoked_at = now
    permit.revocation_reason = reason
    permit.changed_at = now
    ledger.record(
        session,
        actor.ref,
        PermitChanged(
            permit_id=permit.id,
            status="REVOKED",
            application_id=None,
            reason=reason,
            ends_on=permit.ends_on.isoformat(),
        ),
    )
    notifications.notify(
        session,
        person_ids=[int(u) for u in permit.scope.get("users", [])],
        subject=f"Permit {permit.reference} was revoked.",
        body=f"Permit {permit.reference} was revoked: {reason}",
        link=f"/permits/{permit.id}",
    )
    _announce(session, config, permit, "REVOKED")
    return permit


def expire_permits(session: Session, config: PermitsConfig, today: date) -> int:
    """Mark every permit whose last day has passed as EXPIRED; the daily job runs this."""
    system = Actor.system("permits")
    ended = session.scalars(
        select(Permit).where(Permit.status.in_(IN_FORCE), Permit.ends_on < today)
    ).all()
    for permit in ended:
        permit.status = "EXPIRED"
        permit.changed_at = config.now()
        ledger.record(
            session,
            system.ref,
            PermitChanged(
                permit_id=permit.id,
                status="EXPIRED",
                application_id=None,
                reason="The permit's period ended.",
                ends_on=permit.ends_on.isoformat(),
            ),
        )
        _announce(session, config, permit, "EXPIRED")
    return len(ended)


def visas_for(session: Session, actor: Actor, config: PermitsConfig) -> list[str]:
    """The actor's GA4GH passport: one ControlledAccessGrants visa per dataset of every
    permit in force that names them, expiring with the permit."""
    policy.ensure(actor, "permits.application.use")
    now = config.now()
    visas = []
    for permit in permits_of(session, actor):
        if permit.status not in IN_FORCE:
            continue
        for dataset in permit.scope.get("datasets", []):
            visas.append(
                credentials.sign_visa(
                    config.permit_key,
                    issuer=config.base_url,
                    subject=actor.ref,
                    dataset=str(dataset["uri"]),
                    source=config.authority_uri,
                    asserted=permit.granted_at,
                    expires_at=_end_of(permit.ends_on),
                    permit_id=permit.reference,
                    jwks_url=config.jwks_url,
                    issued_at=now,
                )
            )
    return visas
