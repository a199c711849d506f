"""The permits room's rules for identity.policy.

These answer "may this actor use this kind of action at all". Who may send which command
to one application is the workflow's whitelist over the actor's parts on it
(``workflow.WHITELIST``), checked by the service; applications are visible only to their
parties and to the authority's staff.
"""

from __future__ import annotations

from typing import Any

from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role

AUTHORITY_ROLES = (Role.handler, Role.decider, Role.auditor)


def is_authority_staff(actor: Actor) -> bool:
    return actor.has_role(*AUTHORITY_ROLES)


def _applicant(actor: Actor, _resource: Any) -> bool:
    return actor.is_authenticated and actor.has_role(Role.reuser)


def _authority(actor: Actor, _resource: Any) -> bool:
    return actor.is_authenticated and is_authority_staff(actor)


def _decider(actor: Actor, _resource: Any) -> bool:
    return actor.is_authenticated and actor.has_role(Role.decider)


policy.register(
    {
        # Anyone signed in may take part: reviewers and assistants hold other roles.
        "permits.application.use": policy.signed_in,
        "permits.application.create": _applicant,
        "permits.queue.view": _authority,
        "permits.permit.revoke": _decider,
        "permits.register.view": policy.anyone,
        "permits.kpi.view": policy.anyone,
    },
    public=frozenset({"permits.register.view", "permits.kpi.view"}),
)
