"""Who is acting: a signed-in person (web session or API token), the system, or nobody."""

from __future__ import annotations

from dataclasses import dataclass, field

from datafactory.identity.models import Person, Role


@dataclass(frozen=True)
class Actor:
    ref: str
    """How the ledger names the actor: ``person:<id>``, ``system:<part>`` or ``anonymous``."""
    person_id: int | None = None
    name: str = "anonymous"
    roles: frozenset[tuple[str, int | None]] = field(default_factory=frozenset)
    """(role, organisation id) pairs; the id is None for platform-wide roles."""
    scopes: frozenset[str] | None = None
    """For API tokens: the action namespaces the token may use. None for web sessions."""
    token_id: int | None = None

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(ref="anonymous")

    @classmethod
    def system(cls, part: str) -> Actor:
        return cls(ref=f"system:{part}", name=part)

    @classmethod
    def for_person(
        cls,
        person: Person,
        *,
        scopes: frozenset[str] | None = None,
        token_id: int | None = None,
    ) -> Actor:
        return cls(
            ref=f"person:{person.id}",
            person_id=person.id,
            name=person.name,
            roles=frozenset((m.role, m.organisation_id) for m in person.memberships),
            scopes=scopes,
            token_id=token_id,
        )

    @property
    def is_authenticated(self) -> bool:
        return self.person_id is not None

    @property
    def is_system(self) -> bool:
        return self.ref.startswith("system:")

    def has_role(self, *roles: Role | str, organisation_id: int | None = None) -> bool:
        wanted = {str(r) for r in roles}
        return any(
            role in wanted and (organisation_id is None or org == organisation_id)
            for role, org in self.roles
        )

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(role for role, _ in self.roles)
