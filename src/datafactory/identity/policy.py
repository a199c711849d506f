"""The one place that answers "may this actor do this to that". It denies by default.

Every action is ``namespace.verb`` (``audit.verify``). A rule is a pure function of the actor
and the resource (None when the question is "may this actor do this at all"). An action
without a rule is refused. An API token may only act in the namespaces of its scopes, except
for public actions. Rooms add their rules with :func:`register` from their own
``policy.py``; this module holds the identity room's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from datafactory.core.errors import Forbidden, Unauthenticated
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role

Rule = Callable[[Actor, Any], bool]

_RULES: dict[str, Rule] = {}
_PUBLIC: set[str] = set()


def register(
    rules: Mapping[str, Rule], *, public: frozenset[str] = frozenset()
) -> None:
    """Add a room's rules. Public actions are allowed whatever a token's scopes."""
    for action in rules:
        if "." not in action:
            raise ValueError(f"action {action!r} must be namespace.verb")
        if action in _RULES and _RULES[action] is not rules[action]:
            raise ValueError(f"action {action!r} already has a rule")
    _RULES.update(rules)
    _PUBLIC.update(public)


def actions() -> list[str]:
    return sorted(_RULES)


def namespace(action: str) -> str:
    return action.split(".", 1)[0]


def token_scopes() -> list[str]:
    """The scopes a token can be given: every namespace that has a non-public action."""
    return sorted({namespace(a) for a in _RULES if a not in _PUBLIC})


def allowed(actor: Actor, action: str, resource: Any = None) -> bool:
    rule = _RULES.get(action)
    if rule is None:
        return False
    if (
        actor.scopes is not None
        and action not in _PUBLIC
        and namespace(action) not in actor.scopes
    ):
        return False
    return rule(actor, resource)


def ensure(actor: Actor, action: str, resource: Any = None) -> None:
    """Raise Unauthenticated (nobody signed in) or Forbidden unless a rule allows."""
    if allowed(actor, action, resource):
        return
    if not actor.is_authenticated and not actor.is_system:
        raise Unauthenticated("Sign in to do this.")
    raise Forbidden(f"You are not allowed to do this ({action}).")


# --- the identity room's rules ----------------------------------------------------------


def anyone(_actor: Actor, _resource: Any) -> bool:
    return True


def signed_in(actor: Actor, _resource: Any) -> bool:
    return actor.is_authenticated


def having(*roles: Role) -> Rule:
    def rule(actor: Actor, _resource: Any) -> bool:
        return actor.has_role(*roles)

    rule.__name__ = "having_" + "_or_".join(r.value for r in roles)
    return rule


def owner_or(*roles: Role) -> Rule:
    """The person the resource belongs to (``resource.person_id``), or one of ``roles``."""

    def rule(actor: Actor, resource: Any) -> bool:
        if not actor.is_authenticated:
            return False
        if resource is None or actor.has_role(*roles):
            return True
        return getattr(resource, "person_id", None) == actor.person_id

    return rule


def _job_owner_or_admin(actor: Actor, resource: Any) -> bool:
    if not actor.is_authenticated:
        return False
    if resource is None or actor.has_role(Role.admin, Role.auditor):
        return True
    return getattr(resource, "requested_by", None) == actor.ref


register(
    {
        "platform.view": anyone,
        "identity.organisation.list": anyone,
        "account.view": signed_in,
        "account.token.create": signed_in,
        "account.token.revoke": owner_or(Role.admin),
        "identity.person.list": having(Role.admin),
        "identity.role.grant": having(Role.admin),
        "identity.role.revoke": having(Role.admin),
        "audit.read": having(Role.auditor, Role.admin),
        "audit.verify": having(Role.auditor, Role.admin),
        "jobs.view": _job_owner_or_admin,
    },
    public=frozenset({"platform.view", "identity.organisation.list"}),
)
