"""Harvest rules for identity.policy: catalogue administrators and administrators only."""

from __future__ import annotations

from datafactory.identity import policy
from datafactory.identity.models import Role

_ADMINS = policy.having(Role.catalogue_admin, Role.admin)

policy.register(
    {
        "harvest.source.list": _ADMINS,
        "harvest.source.create": _ADMINS,
        "harvest.run": _ADMINS,
    }
)
