"""The secure processing environment's rules for identity.policy.

Membership of a workspace depends on the workspace (its permit's users), so the services
check it themselves (``workspaces.ensure_member``); these rules say who may act at all.
The author of a release request may never review it; the airlock checks that too.
"""

from __future__ import annotations

from typing import Any

from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role


def _signed_in(actor: Actor, _resource: Any) -> bool:
    return actor.is_authenticated


def _anyone(_actor: Actor, _resource: Any) -> bool:
    return True


policy.register(
    {
        # Members only; the service checks membership of the workspace at hand.
        "spe.workspace.use": _signed_in,
        "spe.workspace.manage": policy.having(Role.spe_operator),
        "spe.workspace.oversee": policy.having(Role.spe_operator, Role.auditor),
        # Preparation reads the holders' data and makes pseudonyms: the TTP's work.
        "spe.workspace.prepare": policy.having(Role.ttp_operator),
        "spe.output.check": policy.having(Role.output_checker),
        "spe.archive.view": _anyone,
    },
    public=frozenset({"spe.archive.view"}),
)
