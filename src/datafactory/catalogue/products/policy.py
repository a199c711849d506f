"""Data products are public to read; signed-in stewards, reusers and admins register them."""

from __future__ import annotations

from datafactory.identity import policy
from datafactory.identity.models import Role

policy.register(
    {
        "products.view": policy.anyone,
        "products.create": policy.having(
            Role.data_steward, Role.reuser, Role.catalogue_admin, Role.admin
        ),
    },
    public=frozenset({"products.view"}),
)
