"""The public keys that check signed permits and GA4GH visas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from datafactory.identity.actor import Actor
from datafactory.permits.credentials import jwks
from datafactory.web.deps import RuntimeDep, allow

router = APIRouter(tags=["permits"])
Anyone = Annotated[Actor, Depends(allow("platform.view"))]


@router.get(
    "/.well-known/jwks.json",
    summary="The JWK Set that verifies signed permits and GA4GH visas.",
)
def jwk_set(runtime: RuntimeDep, _actor: Anyone) -> JSONResponse:
    return JSONResponse(
        jwks([runtime.permit_key]),
        headers={"Cache-Control": "public, max-age=300"},
    )
