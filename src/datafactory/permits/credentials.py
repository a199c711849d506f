"""Signed permits and GA4GH visas, and the RSA key that signs them.

A granted permit is published as a compact JWS (``typ: permit+jwt``), and every user named
on it gets one GA4GH Passport ``ControlledAccessGrants`` visa per dataset, shaped as REMS
shapes them (research note ``permits_spe.md`` §1.6). Both are RS256, name their key by
``kid`` (the RFC 7638 thumbprint) and point at the published key set by ``jku``. Anyone can
check them with the keys served at ``/.well-known/jwks.json``; :func:`verify` is how our own
code does it, and it never fetches ``jku``: it trusts only the key set it is handed.

Everything here is pure except the key file: it is a PEM (PKCS#8) file readable by the
owner only, created atomically on first use, and the key never appears in a log or message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from datafactory.core.errors import ConfigurationError

ALGORITHM: Final = "RS256"
PERMIT_TYPE: Final = "permit+jwt"
VISA_TYPE: Final = "JWT"
NEW_KEY_BITS: Final = 3072
MIN_KEY_BITS: Final = 2048
# What verify() insists on in every token, permit or visa.
REQUIRED_CLAIMS: Final = ("iss", "sub", "iat", "exp", "jti")


class CredentialError(ValueError):
    """A permit or visa token that does not verify; the message says why, for people."""


# --- The key file ---------------------------------------------------------------------


def load_or_create_permit_key(path: Path) -> RSAPrivateKey:
    """Load the RSA key at ``path``; create it (3072 bits, mode 0600) the first time.

    The file is written in full under a temporary name and then linked into place, so a
    reader never sees half a key and two processes starting at once end up with the same
    one. A key file that the group or others may read or write is refused.
    """
    if not path.exists():
        _create_key_file(path)
    return _load_key_file(path)


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=NEW_KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # mkstemp creates the file with mode 0600.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # Another process won the race; its key is the key.
    finally:
        os.unlink(temporary)


def _load_key_file(path: Path) -> RSAPrivateKey:
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} holds the permit signing key but its mode is {mode:04o}: "
                "others may read it. Run: chmod 600 on it."
            )
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise ConfigurationError(
            f"{path} is not an unencrypted PEM private key"
        ) from error
    if not isinstance(loaded, RSAPrivateKey):
        raise ConfigurationError(f"{path} does not hold an RSA private key")
    if loaded.key_size < MIN_KEY_BITS:
        raise ConfigurationError(
            f"{path} holds a {loaded.key_size}-bit RSA key; at least {MIN_KEY_BITS} "
            "bits are needed"
        )
    return loaded


# --- Keys as JWKs ---------------------------------------------------------------------


def _public(key: RSAPrivateKey | RSAPublicKey) -> RSAPublicKey:
    return key.public_key() if isinstance(key, RSAPrivateKey) else key


def _public_jwk(key: RSAPrivateKey | RSAPublicKey) -> dict[str, str]:
    jwk = RSAAlgorithm.to_jwk(_public(key), as_dict=True)
    return {"kty": str(jwk["kty"]), "n": str(jwk["n"]), "e": str(jwk["e"])}


def key_id(key: RSAPrivateKey | RSAPublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint: base64url (no padding) SHA-256 of its members."""
    members = _public_jwk(key)
    canonical = json.dumps(
        {"e": members["e"], "kty": members["kty"], "n": members["n"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def jwks(
    keys: Sequence[RSAPrivateKey | RSAPublicKey],
) -> dict[str, list[dict[str, str]]]:
    """The public JWK Set of ``keys``, in order, once each: publish old and new to rotate."""
    published: list[dict[str, str]] = []
    seen: set[str] = set()
    for key in keys:
        kid = key_id(key)
        if kid in seen:
            continue
        seen.add(kid)
        published.append(
            {**_public_jwk(key), "kid": kid, "alg": ALGORITHM, "use": "sig"}
        )
    return {"keys": published}


# --- Signing --------------------------------------------------------------------------


def _seconds(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return int(moment.timestamp())


def _sign(
    key: RSAPrivateKey, claims: dict[str, Any], *, typ: str, jwks_url: str
) -> str:
    headers = {"kid": key_id(key), "jku": jwks_url, "typ": typ}
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers=headers)


def sign_permit(
    key: RSAPrivateKey,
    *,
    issuer: str,
    permit_id: str,
    permit: Mapping[str, Any],
    issued_at: datetime,
    starts_at: datetime,
    expires_at: datetime,
    jwks_url: str,
) -> str:
    """The permit as a compact JWS (``typ: permit+jwt``).

    Claims: ``iss``, ``sub`` (the permit id), ``iat``, ``nbf`` (the permit's start),
    ``exp``, a fresh ``jti``, and ``permit``: the scope exactly as given (datasets,
    variables, purposes, users, conditions, ...), which must be JSON-serialisable.
    Datetimes must be timezone-aware.
    """
    iat = _seconds(issued_at, "issued_at")
    nbf = _seconds(starts_at, "starts_at")
    exp = _seconds(expires_at, "expires_at")
    if exp <= nbf:
        raise ValueError("a permit must expire after it starts")
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": str(permit_id),
        "iat": iat,
        "nbf": nbf,
        "exp": exp,
        "jti": str(uuid.uuid4()),
        "permit": dict(permit),
    }
    return _sign(key, claims, typ=PERMIT_TYPE, jwks_url=jwks_url)


@dataclass(frozen=True)
class Visa:
    """What one GA4GH ``ControlledAccessGrants`` visa asserts: ``subject`` may use
    ``dataset`` (its URI), granted by ``source`` (the authority's URI) under a permit."""

    subject: str
    dataset: str
    source: str
    asserted: datetime
    expires_at: datetime
    permit_id: str

    def __post_init__(self) -> None:
        if _seconds(self.expires_at, "expires_at") <= _seconds(
            self.asserted, "asserted"
        ):
            raise ValueError("a visa must expire after it is asserted")

    def claims(self, *, issuer: str, issued_at: datetime) -> dict[str, Any]:
        return {
            "iss": issuer,
            "sub": self.subject,
            "iat": _seconds(issued_at, "issued_at"),
            "exp": _seconds(self.expires_at, "expires_at"),
            "jti": str(uuid.uuid4()),
            # Outside the GA4GH object, which keeps its exact shape; verifiers ignore it.
            "permit_id": str(self.permit_id),
            "ga4gh_visa_v1": {
                "type": "ControlledAccessGrants",
                "value": self.dataset,
                "source": self.source,
                "by": "dac",
                "asserted": _seconds(self.asserted, "asserted"),
            },
        }

    def sign(
        self,
        key: RSAPrivateKey,
        *,
        issuer: str,
        jwks_url: str,
        issued_at: datetime | None = None,
    ) -> str:
        """The visa as a GA4GH AAI visa JWT (RS256, ``typ: JWT``, ``kid``, ``jku``)."""
        when = issued_at if issued_at is not None else datetime.now(UTC)
        claims = self.claims(issuer=issuer, issued_at=when)
        return _sign(key, claims, typ=VISA_TYPE, jwks_url=jwks_url)


def sign_visa(
    key: RSAPrivateKey,
    *,
    issuer: str,
    subject: str,
    dataset: str,
    source: str,
    asserted: datetime,
    expires_at: datetime,
    permit_id: str,
    jwks_url: str,
    issued_at: datetime | None = None,
) -> str:
    """One ``ControlledAccessGrants`` visa; ``issued_at`` defaults to now."""
    visa = Visa(
        subject=subject,
        dataset=dataset,
        source=source,
        asserted=asserted,
        expires_at=expires_at,
        permit_id=permit_id,
    )
    return visa.sign(key, issuer=issuer, jwks_url=jwks_url, issued_at=issued_at)


# --- Verifying ------------------------------------------------------------------------


def verify(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str | None = None,
    typ: str | None = None,
    leeway: int = 0,
) -> dict[str, Any]:
    """The claims of ``token`` if a key of ``jwks`` (picked by ``kid``) signed it with
    RS256 and it is in force now; otherwise :class:`CredentialError` saying why.

    ``issuer`` and ``typ``, when given, must match. The header's ``jku`` is ignored: only
    the keys handed in are trusted.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise CredentialError("The token is not a compact JWS.") from error
    if header.get("alg") != ALGORITHM:
        raise CredentialError(f"The token must be signed with {ALGORITHM}.")
    if typ is not None and header.get("typ") != typ:
        raise CredentialError(f"The token is not of type {typ}.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CredentialError("The token does not name its key (no kid).")
    try:
        keyset = jwt.PyJWKSet.from_dict(dict(jwks))
        signing_key = keyset[kid]
    except KeyError as error:
        raise CredentialError(
            f"The token was signed with key {kid}, which is not published."
        ) from error
    except jwt.PyJWTError as error:
        raise CredentialError("The key set holds no usable key.") from error
    try:
        return jwt.decode(
            token,
            signing_key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as error:
        raise CredentialError("The token has expired.") from error
    except jwt.ImmatureSignatureError as error:
        raise CredentialError("The token is not valid yet.") from error
    except jwt.InvalidSignatureError as error:
        raise CredentialError(
            "The token's signature does not match its content."
        ) from error
    except jwt.InvalidIssuerError as error:
        raise CredentialError(f"The token was not issued by {issuer}.") from error
    except jwt.MissingRequiredClaimError as error:
        raise CredentialError(f"The token lacks the {error.claim} claim.") from error
    except jwt.PyJWTError as error:
        raise CredentialError(f"The token is not valid: {error}.") from error
