"""Where a protected dataset's data lives: for the publisher's data stewards and catalogue
administrators only, never for the public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from datafactory.catalogue import sources
from datafactory.catalogue.sources import DataSourceIn, DataSourcePublic
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, allow

router = APIRouter(tags=["catalogue"])
Steward = Annotated[Actor, Depends(allow("catalogue.source.manage"))]


@router.get("/api/v1/datasets/{dataset_id}/source")
def get_source(
    dataset_id: str, session: SessionDep, actor: Steward
) -> DataSourcePublic:
    """The registered source of a protected dataset."""
    found = sources.get_source(session, actor, dataset_id=dataset_id)
    return sources.source_public(found)


@router.put("/api/v1/datasets/{dataset_id}/source")
def set_source(
    dataset_id: str, body: DataSourceIn, session: SessionDep, actor: Steward
) -> DataSourcePublic:
    """Register where a protected dataset's data lives, replacing an earlier source."""
    found = sources.set_source(session, actor, dataset_id=dataset_id, source=body)
    return sources.source_public(found)
