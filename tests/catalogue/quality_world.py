"""Shared arrangements for the quality, citation, product and link-checker tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from datafactory.identity.models import Role
from tests.catalogue.test_datasets import COMPLETE, PROTECTED, bearer
from tests.factories import organisation, person_with_token

__all__ = ["COMPLETE", "PROTECTED", "bearer", "complete", "make_world", "publish"]


def complete(**distribution: Any) -> dict[str, Any]:
    """The complete demo-like dataset, with its distribution's fields replaced."""
    metadata = copy.deepcopy(COMPLETE)
    metadata["distributions"][0].update(distribution)
    return metadata


def make_world(committed):  # type: ignore[no-untyped-def]
    # The app registers every room's policy before tokens are given their scopes.
    import datafactory.web.app  # noqa: F401

    def make(session):  # type: ignore[no-untyped-def]
        statec = organisation(session, "statec")
        return {
            "statec": statec.id,
            "steward": person_with_token(
                session, "steward@statec.lu", roles=((Role.data_steward, statec.id),)
            ),
            "reuser": person_with_token(
                session, "r@uni.lu", roles=((Role.reuser, None),)
            ),
            "citizen": person_with_token(
                session, "c@mail.lu", roles=((Role.citizen, None),)
            ),
            "catalogue_admin": person_with_token(
                session, "ca@lnds.lu", roles=((Role.catalogue_admin, None),)
            ),
        }

    return committed(make)


def publish(client, world, metadata=None) -> str:  # type: ignore[no-untyped-def]
    created = client.post(
        "/api/v1/datasets",
        headers=bearer(world["steward"].token),
        json={"publisher_id": world["statec"], "metadata": metadata or COMPLETE},
    )
    assert created.status_code == 201, created.json()
    dataset_id: str = created.json()["id"]
    published = client.post(
        f"/api/v1/datasets/{dataset_id}/publish",
        headers=bearer(world["steward"].token),
    )
    assert published.status_code == 200, published.json()
    return dataset_id


@pytest.fixture
def world(committed):  # type: ignore[no-untyped-def]
    return make_world(committed)
