"""Citizen lookup: which domains (so which permits and registers) hold records about one
person, without showing a single pseudonym.

For every domain and every master key version the domain has used, the person's pseudonym
is computed and looked for in the domain's mapping table. The answer names the domains; the
ledger names the person only by a hash keyed with the master key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import FieldError, InvalidInput
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.privacy import matricule
from datafactory.ttp import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.domains import permit_references
from datafactory.ttp.events import CitizenLookedUp
from datafactory.ttp.keyring import Keyring
from datafactory.ttp.keys import lookup_ref
from datafactory.ttp.models import DomainPseudonym, PseudonymDomain

_CHUNK = 400


@dataclass(frozen=True)
class DomainRef:
    """A domain that holds records about the person: never the pseudonym itself."""

    name: str
    kind: str
    status: str
    permit_reference: str | None


def domains_holding(
    session: Session, actor: Actor, config: TtpConfig, *, matricule: str
) -> list[DomainRef]:
    policy.ensure(actor, "ttp.lookup")
    identifier = _valid(matricule)
    keyring = Keyring(session, config, actor.ref)
    domains = list(
        session.scalars(select(PseudonymDomain).order_by(PseudonymDomain.name))
    )
    candidates = {
        (domain.id, keyring.domain_keys(domain, version).pseudonymiser.one(identifier))
        for domain in domains
        for version in domain.key_versions
    }
    holding = _present(session, sorted(candidates))
    found = [d for d in domains if d.id in holding]
    permits = permit_references(session, found)
    version = keyring.current_version()
    ledger.record(
        session,
        actor.ref,
        CitizenLookedUp(
            person_ref=lookup_ref(keyring.master(version), identifier),
            key_version=version,
            domains=len(found),
        ),
    )
    return [
        DomainRef(
            name=d.name,
            kind=d.kind,
            status=d.status,
            permit_reference=permits.get(d.permit_id) if d.permit_id else None,
        )
        for d in found
    ]


def _valid(raw: str) -> str:
    problem = matricule.check(raw)
    if problem is not None:
        raise InvalidInput(
            "This is not a valid national identification number.",
            errors=[FieldError("matricule", problem.message)],
        )
    return matricule.normalise(raw)


def _present(session: Session, candidates: list[tuple[int, str]]) -> set[int]:
    holding: set[int] = set()
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start : start + _CHUNK]
        holding.update(
            session.scalars(
                select(DomainPseudonym.domain_id)
                .where(
                    tuple_(DomainPseudonym.domain_id, DomainPseudonym.pseudonym).in_(
                        chunk
                    )
                )
                .distinct()
            )
        )
    return holding
