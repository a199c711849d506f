"""Who may read quality figures and citations (anyone) and start link checks."""

from __future__ import annotations

from datafactory.identity import policy
from datafactory.identity.models import Role

policy.register(
    {
        "quality.view": policy.anyone,
        "quality.check_links": policy.having(Role.catalogue_admin, Role.admin),
    },
    public=frozenset({"quality.view"}),
)
