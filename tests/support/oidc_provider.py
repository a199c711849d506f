"""A small but real OpenID Connect provider for tests, served over HTTP on 127.0.0.1.

It speaks the authorization-code flow the way a real provider does: discovery, an
authorization endpoint (with no login screen: it approves :attr:`LocalOidcProvider.user`
at once), a token endpoint that checks the code, the client's secret (``client_secret_basic``
or ``client_secret_post``), the redirect URI and PKCE, and answers with an RS256-signed ID
token; the signing keys at ``/jwks``; and ``/userinfo``.

Set :attr:`LocalOidcProvider.misbehave` to make it break the protocol in one chosen way,
for tests that the platform refuses what it must refuse.

Signing uses joserfc, which authlib itself builds on: ``authlib.jose`` is deprecated.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route


@dataclass
class OidcUser:
    """Whom the provider signs in. ``email_verified`` may be a string, as some providers send."""

    sub: str = "a1b2c3"
    email: str | None = "ada@example.lu"
    email_verified: bool | str = True
    name: str | None = "Ada Lovelace"

    def claims(self) -> dict[str, Any]:
        found = {
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
        }
        return {key: value for key, value in found.items() if value is not None}


class Misbehaviour(StrEnum):
    """One way of breaking the protocol, for negative tests."""

    wrong_audience = "wrong_audience"
    """The ID token is for another client."""
    foreign_audience_with_azp = "foreign_audience_with_azp"
    """The ID token is for another client but names this one as authorised party."""
    bad_signature = "bad_signature"
    """The ID token is signed by a key the provider does not publish (same key id)."""
    wrong_issuer = "wrong_issuer"
    """The ID token names another issuer."""
    wrong_nonce = "wrong_nonce"
    """The ID token carries a nonce the client never sent."""
    expired = "expired"
    """The ID token expired an hour ago."""
    no_id_token = "no_id_token"
    """The token answer has an access token but no ID token."""
    deny = "deny"
    """The authorization endpoint answers ``error=access_denied``."""


@dataclass(frozen=True)
class Grant:
    """What an authorization code stands for."""

    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    user: OidcUser


@dataclass
class TokenRequest:
    """How the client authenticated at the token endpoint (for assertions)."""

    auth_method: str
    grant_type: str | None
    used_pkce: bool


@dataclass
class LocalOidcProvider:
    client_id: str = "datafactory"
    client_secret: str = "provider-client-secret"
    redirect_uris: tuple[str, ...] = ()
    user: OidcUser = field(default_factory=OidcUser)
    misbehave: Misbehaviour | None = None
    token_lifetime: int = 300
    token_requests: list[TokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        params = {"kid": "test-key-1", "use": "sig", "alg": "RS256"}
        self.key = RSAKey.generate_key(2048, parameters=params, private=True)
        # Published nowhere; signs the tokens of Misbehaviour.bad_signature.
        self.rogue_key = RSAKey.generate_key(2048, parameters=params, private=True)
        self._codes: dict[str, Grant] = {}
        self._access_tokens: dict[str, OidcUser] = {}
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> LocalOidcProvider:
        config = uvicorn.Config(
            self.app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="oidc-provider",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> LocalOidcProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Back to a well-behaved provider signing in the default user."""
        with self._lock:
            self._codes.clear()
            self._access_tokens.clear()
        self.user = OidcUser()
        self.misbehave = None
        self.token_requests.clear()

    # --- the protocol ---------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
                Route("/userinfo", self.userinfo, methods=["GET", "POST"]),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": [
                    "iss",
                    "sub",
                    "aud",
                    "exp",
                    "iat",
                    "nonce",
                    "email",
                    "email_verified",
                    "name",
                ],
            }
        )

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        client_id = query.get("client_id")
        redirect_uri = query.get("redirect_uri", "")
        # A wrong client or redirect URI must never be redirected to (RFC 6749 4.1.2.1).
        if client_id != self.client_id:
            return PlainTextResponse("unknown client_id", status_code=400)
        if redirect_uri not in self.redirect_uris:
            return PlainTextResponse("unregistered redirect_uri", status_code=400)
        state = query.get("state")
        answer: dict[str, str] = {"state": state} if state else {}
        if self.misbehave is Misbehaviour.deny:
            answer.update(error="access_denied", error_description="The user said no.")
            return RedirectResponse(_with_query(redirect_uri, answer), status_code=302)
        if query.get("response_type") != "code":
            answer["error"] = "unsupported_response_type"
            return RedirectResponse(_with_query(redirect_uri, answer), status_code=302)
        if "openid" not in query.get("scope", "").split():
            answer["error"] = "invalid_scope"
            return RedirectResponse(_with_query(redirect_uri, answer), status_code=302)
        method = query.get("code_challenge_method")
        if query.get("code_challenge") and method != "S256":
            answer["error"] = "invalid_request"
            return RedirectResponse(_with_query(redirect_uri, answer), status_code=302)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = Grant(
                client_id=client_id,
                redirect_uri=redirect_uri,
                nonce=query.get("nonce"),
                code_challenge=query.get("code_challenge"),
                code_challenge_method=method,
                user=OidcUser(**vars(self.user)),
            )
        answer["code"] = code
        return RedirectResponse(_with_query(redirect_uri, answer), status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        auth_method = self._authenticate_client(request, values)
        self.token_requests.append(
            TokenRequest(
                auth_method=auth_method or "none",
                grant_type=values.get("grant_type"),
                used_pkce="code_verifier" in values,
            )
        )
        if auth_method is None:
            return _oauth_error("invalid_client", 401)
        if values.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type")
        with self._lock:
            grant = self._codes.pop(values.get("code", ""), None)  # single use
        if grant is None or grant.client_id != self.client_id:
            return _oauth_error("invalid_grant")
        if values.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant")
        if grant.code_challenge is not None:
            verifier = values.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not secrets.compare_digest(expected, grant.code_challenge):
                return _oauth_error("invalid_grant")
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[access_token] = grant.user
        answer: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "scope": "openid email profile",
        }
        if self.misbehave is not Misbehaviour.no_id_token:
            answer["id_token"] = self.id_token(grant, access_token)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse(user.claims())

    # --- helpers --------------------------------------------------------------------------

    def id_token(self, grant: Grant, access_token: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + self.token_lifetime,
            "auth_time": now,
            "at_hash": _half_hash(access_token),
            **grant.user.claims(),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        key = self.key
        match self.misbehave:
            case Misbehaviour.wrong_audience:
                claims["aud"] = "some-other-client"
            case Misbehaviour.foreign_audience_with_azp:
                claims.update(aud="some-other-client", azp=grant.client_id)
            case Misbehaviour.bad_signature:
                key = self.rogue_key
            case Misbehaviour.wrong_issuer:
                claims["iss"] = "http://evil.example"
            case Misbehaviour.wrong_nonce:
                claims["nonce"] = "not-the-nonce-you-sent"
            case Misbehaviour.expired:
                claims.update(iat=now - 7200, exp=now - 3600)
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    def _authenticate_client(
        self, request: Request, form: dict[str, str]
    ) -> str | None:
        """The method the client used, if its id and secret are right; else None."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded, validate=True).decode()
            except ValueError:
                return None
            client_id, _, secret = decoded.partition(":")
            # RFC 6749 2.3.1 form-encodes both parts; authlib sends them as they are.
            if self._right_client(client_id, secret) or self._right_client(
                unquote(client_id), unquote(secret)
            ):
                return "client_secret_basic"
            return None
        if self._right_client(form.get("client_id", ""), form.get("client_secret", "")):
            return "client_secret_post"
        return None

    def _right_client(self, client_id: str, secret: str) -> bool:
        return client_id == self.client_id and secrets.compare_digest(
            secret.encode(), self.client_secret.encode()
        )


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def _oauth_error(error: str, status: int = 400) -> Response:
    return JSONResponse({"error": error}, status_code=status)


def _half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
