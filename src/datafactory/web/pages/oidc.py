"""Sign-in through any OpenID Connect provider the operator configured (authlib)."""

from __future__ import annotations

from typing import Annotated, Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work
from datafactory.core.errors import NotFound, Unauthenticated
from datafactory.identity.actor import Actor
from datafactory.identity.sign_in import OidcClaims, sign_in_with_oidc
from datafactory.web.deps import SESSION_PERSON, RuntimeDep, allow
from datafactory.web.pages import page_router
from datafactory.web.pages.home import local_path
from datafactory.web.templating import csrf_token

router = page_router("pages")
Viewer = Annotated[Actor, Depends(allow("platform.view"))]
NEXT_KEY = "oidc_next"


def build_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    for provider in settings.oidc_providers:
        oauth.register(
            name=provider.name,
            client_id=provider.client_id,
            client_secret=provider.secret(),
            server_metadata_url=provider.issuer.rstrip("/")
            + "/.well-known/openid-configuration",
            client_kwargs={"scope": provider.scopes},
        )
    return oauth


def _client(request: Request, name: str) -> Any:
    settings: Settings = request.app.state.runtime.settings
    if settings.oidc_provider(name) is None:
        raise NotFound(f"There is no sign-in provider {name!r}.")
    return request.app.state.oauth.create_client(name)


@router.get("/oidc/{name}/login")
async def login(request: Request, name: str, _actor: Viewer, next: str = "/") -> Any:
    client = _client(request, name)
    request.session[NEXT_KEY] = local_path(next)
    settings: Settings = request.app.state.runtime.settings
    redirect_uri = f"{settings.base_url.rstrip('/')}/oidc/{name}/callback"
    return await client.authorize_redirect(request, redirect_uri)


@router.get("/oidc/{name}/callback")
async def callback(
    request: Request, name: str, runtime: RuntimeDep, _actor: Viewer
) -> RedirectResponse:
    client = _client(request, name)
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        raise Unauthenticated(f"The sign-in provider refused: {exc.error}.") from exc
    info = token.get("userinfo") or {}
    provider = runtime.settings.oidc_provider(name)
    assert provider is not None
    claims = OidcClaims(
        provider=name,
        issuer=str(info.get("iss", provider.issuer)),
        subject=str(info["sub"]),
        email=info.get("email"),
        email_verified=bool(info.get("email_verified", False)),
        name=info.get("name"),
    )

    def sign_in() -> int:
        with unit_of_work(runtime.sessions) as session:
            person = sign_in_with_oidc(
                session, claims, link_verified_email=provider.link_verified_email
            )
            return person.id

    person_id = await run_in_threadpool(sign_in)
    next_path = request.session.get(NEXT_KEY, "/")
    request.session.clear()
    request.session[SESSION_PERSON] = person_id
    csrf_token(request)
    return RedirectResponse(local_path(str(next_path)), status_code=303)
