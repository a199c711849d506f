"""The catalogue's rules for identity.policy.

Published metadata is public, for protected data too: finding what exists is the point of
the single information point. Drafts and changes belong to the publisher's data stewards and
to catalogue administrators.
"""

from __future__ import annotations

from typing import Any

from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role


def _steward_of_publisher(actor: Actor, dataset: Any) -> bool:
    if actor.has_role(Role.catalogue_admin, Role.admin):
        return True
    if dataset is None:
        return actor.has_role(Role.data_steward)
    return actor.has_role(Role.data_steward, organisation_id=dataset.publisher_id)


def _may_see_draft(actor: Actor, dataset: Any) -> bool:
    if dataset is not None and dataset.status == "published":
        return True
    return (actor.is_authenticated or actor.is_system) and _steward_of_publisher(
        actor, dataset
    )


policy.register(
    {
        "catalogue.dataset.view": _may_see_draft,
        "catalogue.dataset.create": _steward_of_publisher,
        "catalogue.dataset.edit": _steward_of_publisher,
        "catalogue.dataset.publish": _steward_of_publisher,
        "catalogue.dataset.delete": _steward_of_publisher,
        "catalogue.view": policy.anyone,
    },
    public=frozenset({"catalogue.view"}),
)
