"""The trusted third party's rules for identity.policy.

Only TTP operators act here. Re-identification needs a signed-in person on both sides (a
system actor cannot be the "second, different operator"); the two-person rule itself is
checked by the service, as it depends on who made the request. The citizen lookup is open to
TTP operators and to the citizen data tracker, a service acting for the citizen.
"""

from __future__ import annotations

from typing import Any

from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role

CITIZEN_TRACKER = "system:citizen-tracker"
"""The ``ref`` of the service that will look up a signed-in citizen's own matricule."""


def _operator_person(actor: Actor, _resource: Any) -> bool:
    return actor.is_authenticated and actor.has_role(Role.ttp_operator)


def _lookup(actor: Actor, _resource: Any) -> bool:
    return actor.has_role(Role.ttp_operator) or actor.ref == CITIZEN_TRACKER


policy.register(
    {
        "ttp.domain.view": policy.having(Role.ttp_operator),
        "ttp.domain.manage": policy.having(Role.ttp_operator),
        "ttp.file.pseudonymise": policy.having(Role.ttp_operator),
        "ttp.key.rotate": policy.having(Role.ttp_operator),
        "ttp.link.run": policy.having(Role.ttp_operator),
        "ttp.reidentify": _operator_person,
        "ttp.lookup": _lookup,
    }
)
