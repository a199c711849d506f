"""Pseudonym domains and their lives: created → (rotated)* → retired.

One domain per permit (``permit:<permit reference>``), whose pseudonyms no other project
can link with, and one per sector for long-lived registers (``sector:<name>``). A domain's
keys derive from one master key version; rotating moves the domain to the current master
version, so its pseudonyms from then on differ from the earlier ones (every stored pseudonym
records the version it was made with). A retired domain makes no new pseudonyms; the ones
it made stay re-identifiable and visible to citizen lookups.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import Conflict, FieldError, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.permits.issuing import IN_FORCE
from datafactory.permits.models import Permit
from datafactory.ttp import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.errors import DomainRetired, UnknownDomain
from datafactory.ttp.events import (
    DomainCreated,
    DomainRotated,
    MasterKeyRotated,
)
from datafactory.ttp.events import DomainRetired as DomainRetiredEvent
from datafactory.ttp.keyring import Keyring
from datafactory.ttp.models import DomainKind, DomainStatus, PseudonymDomain

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")


def create_domain(
    session: Session,
    actor: Actor,
    config: TtpConfig,
    *,
    name: str,
    kind: DomainKind | None = None,
    permit_reference: str | None = None,
) -> PseudonymDomain:
    """Create a domain. ``name`` is ``sector:health`` or just ``health`` with ``kind``;
    a permit domain is named for its permit, which must be in force."""
    policy.ensure(actor, "ttp.domain.manage")
    kind, label = _parse_name(name, kind, permit_reference)
    full = f"{kind.value}:{label}"
    permit_id = _permit_in_force(session, label) if kind is DomainKind.permit else None
    if session.scalar(select(PseudonymDomain.id).where(PseudonymDomain.name == full)):
        raise Conflict(f"The pseudonym domain {full} exists already.")
    keyring = Keyring(session, config, actor.ref)
    version = keyring.current_version()
    keyring.master(version)  # check the key before the domain depends on it
    domain = PseudonymDomain(
        name=full,
        kind=kind.value,
        permit_id=permit_id,
        status=DomainStatus.created.value,
        key_version=version,
        key_versions=[version],
        created_by=actor.ref,
        created_at=config.now(),
    )
    session.add(domain)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        DomainCreated(domain.id, full, kind.value, permit_id, version),
    )
    return domain


def _parse_name(
    name: str, kind: DomainKind | None, permit_reference: str | None
) -> tuple[DomainKind, str]:
    prefix, sep, label = name.strip().partition(":")
    if sep:
        try:
            named = DomainKind(prefix)
        except ValueError:
            raise _bad_name(name) from None
        if kind is not None and kind is not named:
            raise _bad_name(
                name, f"The name says {named.value}, the kind {kind.value}."
            )
        kind = named
    else:
        label = prefix
    if permit_reference is not None:
        if kind is DomainKind.sector:
            raise _bad_name(name, "Only a permit domain names a permit.")
        if label and label != permit_reference:
            raise _bad_name(
                name, f"A permit domain is named permit:{permit_reference}."
            )
        kind, label = DomainKind.permit, permit_reference
    kind = kind or DomainKind.sector
    if not _LABEL.fullmatch(label):
        raise _bad_name(name)
    return kind, label


def _bad_name(name: str, message: str | None = None) -> InvalidInput:
    return InvalidInput(
        f"{name[:80]!r} is not a valid pseudonym domain name.",
        errors=[
            FieldError(
                "name",
                message
                or "Use permit:<permit reference> or sector:<name>: letters, digits, "
                "'.', '_' and '-'.",
            )
        ],
    )


def _permit_in_force(session: Session, reference: str) -> int:
    permit = session.scalar(select(Permit).where(Permit.reference == reference))
    if permit is None:
        raise NotFound(f"There is no permit {reference}.")
    if permit.status not in IN_FORCE:
        raise Conflict(
            f"Permit {reference} is {permit.status}; a domain is made only for a permit "
            "in force."
        )
    return permit.id


def retire_with_permit(session: Session, permit: Permit, what: str) -> None:
    """A permits listener (``PermitsConfig.listeners``): when a permit is revoked or
    expires, its domain stops making pseudonyms, in the same transaction."""
    if what not in ("REVOKED", "EXPIRED"):
        return
    domain = session.scalar(
        select(PseudonymDomain).where(
            PseudonymDomain.permit_id == permit.id,
            PseudonymDomain.status != DomainStatus.retired.value,
        )
    )
    if domain is None:
        return
    domain.status = DomainStatus.retired.value
    domain.retired_at = permit.changed_at
    session.flush()
    reason = f"permit {permit.reference} {what.lower()}"
    ledger.record(
        session, "system:permits", DomainRetiredEvent(domain.id, domain.name, reason)
    )


def list_domains(session: Session, actor: Actor) -> list[PseudonymDomain]:
    policy.ensure(actor, "ttp.domain.view")
    return list(session.scalars(select(PseudonymDomain).order_by(PseudonymDomain.name)))


def find_domain(session: Session, name: str) -> PseudonymDomain:
    """The domain called ``name``, or :class:`UnknownDomain`. Callers check the policy."""
    domain = session.scalar(
        select(PseudonymDomain).where(PseudonymDomain.name == name.strip())
    )
    if domain is None:
        raise UnknownDomain(
            f"There is no pseudonym domain {name[:160]!r}; `datafactory ttp domains "
            "list` shows them."
        )
    return domain


def open_domain(session: Session, name: str) -> PseudonymDomain:
    """A domain that may still hand out pseudonyms."""
    domain = find_domain(session, name)
    if domain.status == DomainStatus.retired:
        raise DomainRetired(
            f"The pseudonym domain {domain.name} was retired and makes no new "
            "pseudonyms."
        )
    return domain


def rotate_domain(
    session: Session, actor: Actor, config: TtpConfig, *, name: str
) -> PseudonymDomain:
    """Move a domain to the current master key version."""
    policy.ensure(actor, "ttp.domain.manage")
    domain = open_domain(session, name)
    keyring = Keyring(session, config, actor.ref)
    version = keyring.current_version()
    if version == domain.key_version:
        raise Conflict(
            f"{domain.name} already uses master key version {version}, the newest; "
            "rotate the master key first (`datafactory ttp keys rotate`)."
        )
    keyring.master(version)
    before = domain.key_version
    domain.key_version = version
    domain.key_versions = [*domain.key_versions, version]
    domain.status = DomainStatus.rotated.value
    domain.rotated_at = config.now()
    session.flush()
    ledger.record(
        session, actor.ref, DomainRotated(domain.id, domain.name, before, version)
    )
    return domain


def retire_domain(
    session: Session, actor: Actor, config: TtpConfig, *, name: str, reason: str
) -> PseudonymDomain:
    policy.ensure(actor, "ttp.domain.manage")
    domain = open_domain(session, name)
    domain.status = DomainStatus.retired.value
    domain.retired_at = config.now()
    session.flush()
    ledger.record(
        session,
        actor.ref,
        DomainRetiredEvent(domain.id, domain.name, reason.strip()[:500]),
    )
    return domain


def rotate_master_key(
    session: Session,
    actor: Actor,
    config: TtpConfig,
    *,
    expected_version: int | None = None,
) -> int:
    """Add a master key version. ``expected_version``, when given, is the version the
    caller means to replace: if another operator rotated meanwhile, nothing happens."""
    policy.ensure(actor, "ttp.key.rotate")
    keyring = Keyring(session, config, actor.ref)
    current = keyring.current_version()
    if expected_version is not None and expected_version != current:
        raise Conflict(
            f"The current master key version is {current}, not {expected_version}; "
            "someone rotated already."
        )
    keyring.master(current)  # never rotate away from a key that is not the right one
    version = config.custody.rotate()
    keyring.master(version)
    ledger.record(
        session,
        actor.ref,
        MasterKeyRotated(version=version, custody=config.custody.description),
    )
    return version


def permit_references(
    session: Session, domains: list[PseudonymDomain]
) -> dict[int, str]:
    """Permit id → reference for the permit domains among ``domains``."""
    ids = {d.permit_id for d in domains if d.permit_id is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(Permit.id, Permit.reference).where(Permit.id.in_(ids))
    )
    return dict(rows.all())
