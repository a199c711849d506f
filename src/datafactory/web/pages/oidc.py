"""Sign-in through any OpenID Connect provider the operator configured (authlib)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from datafactory.core.config import OidcProvider, Settings
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

# authlib talks to providers through httpx2 where it is installed, else through httpx;
# a provider that cannot be reached raises the HTTPError of whichever it uses.
UNREACHABLE: tuple[type[Exception], ...] = (httpx.HTTPError, ValueError)
try:
    import httpx2
except ImportError:  # pragma: no cover - depends on the installed packages
    pass
else:
    UNREACHABLE += (httpx2.HTTPError,)


def build_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    for provider in settings.oidc_providers:
        oauth.register(
            name=provider.name,
            client_id=provider.client_id,
            client_secret=provider.secret(),
            server_metadata_url=provider.issuer.rstrip("/")
            + "/.well-known/openid-configuration",
            # PKCE as well as the client secret (RFC 9700 2.1.1): a stolen code is useless.
            client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256"},
        )
    return oauth


def _provider(request: Request, name: str) -> tuple[OidcProvider, Any]:
    settings: Settings = request.app.state.runtime.settings
    provider = settings.oidc_provider(name)
    if provider is None:
        raise NotFound(f"There is no sign-in provider {name!r}.")
    return provider, request.app.state.oauth.create_client(name)


def _claims_options(provider: OidcProvider) -> dict[str, Any]:
    """What the ID token must say besides its signature, expiry and nonce.

    authlib checks the issuer only against the discovery document and lets a token for
    another audience through when its ``azp`` names us; the issuer must be the one the
    operator configured and the audience must include our client id (OIDC Core 3.1.3.7).
    """
    issuer = provider.issuer.rstrip("/")
    return {
        "iss": {"essential": True, "values": [issuer, issuer + "/"]},
        "aud": {"essential": True, "value": provider.client_id},
    }


@router.get("/oidc/{name}/login")
async def login(request: Request, name: str, _actor: Viewer, next: str = "/") -> Any:
    _, client = _provider(request, name)
    request.session[NEXT_KEY] = local_path(next)
    settings: Settings = request.app.state.runtime.settings
    redirect_uri = f"{settings.base_url.rstrip('/')}/oidc/{name}/callback"
    try:
        return await client.authorize_redirect(request, redirect_uri)
    except UNREACHABLE as exc:
        raise Unauthenticated(
            "The sign-in provider cannot be reached. Try again later."
        ) from exc


@router.get("/oidc/{name}/callback")
async def callback(
    request: Request, name: str, runtime: RuntimeDep, _actor: Viewer
) -> RedirectResponse:
    provider, client = _provider(request, name)
    try:
        token = await client.authorize_access_token(
            request, claims_options=_claims_options(provider)
        )
    except AuthlibBaseError as exc:
        # OAuthError (a refusal, a replayed or forged state) and errors from claims checks.
        raise Unauthenticated(f"The sign-in provider refused: {exc.error}.") from exc
    except JoseError as exc:
        reason = exc.description or exc.error.replace("_", " ")
        raise Unauthenticated(
            f"The sign-in provider's ID token is not valid ({reason})."
        ) from exc
    except UNREACHABLE as exc:
        raise Unauthenticated(
            "The sign-in provider cannot be reached. Try again later."
        ) from exc
    info = token.get("userinfo")
    if not info or not info.get("sub"):
        # Without an ID token this is plain OAuth, which proves nothing about who it is.
        raise Unauthenticated("The sign-in provider sent no ID token.")
    email = info.get("email")
    claims = OidcClaims(
        provider=name,
        issuer=str(info["iss"]),
        subject=str(info["sub"]),
        email=email if isinstance(email, str) else None,
        email_verified=_true(info.get("email_verified")),
        name=info.get("name") if isinstance(info.get("name"), str) else None,
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


def _true(value: Any) -> bool:
    """``email_verified`` is a JSON boolean, but some providers send "true" or "false"."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True
