"""Signed permits and GA4GH visas: the key file, the JWK Set, and tokens that verify with
plain PyJWT and nothing of ours."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from datafactory.core.errors import ConfigurationError
from datafactory.permits.credentials import (
    CredentialError,
    Visa,
    jwks,
    key_id,
    load_or_create_permit_key,
    sign_permit,
    sign_visa,
    verify,
)

ISSUER = "https://data.example.lu"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
DATASET = "https://data.example.lu/datasets/cancer-registry"
REQUIRED = ["iss", "sub", "iat", "exp", "jti"]
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys" / "permit-rsa.pem"
    load_or_create_permit_key(path)
    return path


@pytest.fixture(scope="module")
def key(key_file: Path) -> RSAPrivateKey:
    return load_or_create_permit_key(key_file)


@pytest.fixture(scope="module")
def other_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def visa_token(key: RSAPrivateKey, **changes: Any) -> str:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "subject": "person:7",
        "dataset": DATASET,
        "source": ISSUER,
        "asserted": NOW - timedelta(days=1),
        "expires_at": NOW + timedelta(days=365),
        "permit_id": "42",
        "jwks_url": JWKS_URL,
    }
    fields.update(changes)
    return sign_visa(key, **fields)


def permit_token(key: RSAPrivateKey, permit: dict[str, Any], **changes: Any) -> str:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "permit_id": "42",
        "permit": permit,
        "issued_at": NOW,
        "starts_at": NOW - timedelta(days=1),
        "expires_at": NOW + timedelta(days=365),
        "jwks_url": JWKS_URL,
    }
    fields.update(changes)
    return sign_permit(key, **fields)


def plain_decode(token: str, key_set: dict[str, Any]) -> dict[str, Any]:
    """How a verifier outside the platform checks a token: PyJWT and the JWK Set only."""
    signing_key = jwt.PyJWKSet.from_dict(key_set)[
        jwt.get_unverified_header(token)["kid"]
    ]
    return jwt.decode(
        token, signing_key, algorithms=["RS256"], options={"require": REQUIRED}
    )


def segments(token: str) -> list[str]:
    return token.split(".")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- The key file ---------------------------------------------------------------------


def test_key_file_is_created_owner_only_and_reloads_identical(key_file, key):
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key.key_size >= 2048
    again = load_or_create_permit_key(key_file)
    assert again.private_numbers() == key.private_numbers()
    assert key_id(again) == key_id(key) == key_id(key.public_key())
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]


def test_a_key_file_others_can_read_is_refused(tmp_path, key_file):
    path = tmp_path / "permit-rsa.pem"
    path.write_bytes(key_file.read_bytes())
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_permit_key(path)


def test_a_key_file_without_an_rsa_key_is_refused(tmp_path):
    path = tmp_path / "permit-rsa.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    os.chmod(path, 0o600)
    with pytest.raises(ConfigurationError, match="RSA"):
        load_or_create_permit_key(path)
    path.write_bytes(b"not a key")
    with pytest.raises(ConfigurationError, match="PEM"):
        load_or_create_permit_key(path)


# --- Key ids and the JWK Set ----------------------------------------------------------


def test_key_id_is_the_rfc_7638_thumbprint():
    # The example of RFC 7638 section 3.1.
    example = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPF"
        "FxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN"
        "5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5h"
        "ajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqb"
        "w0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
    }
    public = RSAAlgorithm.from_jwk(example)
    assert key_id(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_jwks_publishes_every_key_once_and_nothing_private(key, other_key):
    published = jwks([key, other_key.public_key(), key])
    assert [k["kid"] for k in published["keys"]] == [key_id(key), key_id(other_key)]
    for entry in published["keys"]:
        assert set(entry) == {"kty", "n", "e", "kid", "alg", "use"}
        assert (entry["kty"], entry["alg"], entry["use"]) == ("RSA", "RS256", "sig")
    assert len(jwt.PyJWKSet.from_dict(published).keys) == 2
    json.dumps(published)


# --- Visas ----------------------------------------------------------------------------


def test_a_visa_verifies_with_plain_pyjwt_and_has_the_ga4gh_shape(key):
    asserted = NOW - timedelta(days=1)
    token = visa_token(key, asserted=asserted)
    header = jwt.get_unverified_header(token)
    assert header == {
        "alg": "RS256",
        "kid": key_id(key),
        "jku": JWKS_URL,
        "typ": "JWT",
    }
    claims = plain_decode(token, jwks([key]))
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "person:7"
    assert claims["exp"] == int((NOW + timedelta(days=365)).timestamp())
    assert claims["ga4gh_visa_v1"] == {
        "type": "ControlledAccessGrants",
        "value": DATASET,
        "source": ISSUER,
        "by": "dac",
        "asserted": int(asserted.timestamp()),
    }
    assert claims["permit_id"] == "42"
    assert verify(token, jwks([key]), issuer=ISSUER, typ="JWT") == claims


def test_visas_get_fresh_token_ids(key):
    visa = Visa(
        subject="person:7",
        dataset=DATASET,
        source=ISSUER,
        asserted=NOW,
        expires_at=NOW + timedelta(days=1),
        permit_id="42",
    )
    first, second = (
        verify(visa.sign(key, issuer=ISSUER, jwks_url=JWKS_URL), jwks([key]))
        for _ in range(2)
    )
    assert first["jti"] != second["jti"]


def test_a_visa_with_one_character_flipped_fails(key):
    token = visa_token(key)
    header, payload, signature = segments(token)
    middle = len(payload) // 2
    flipped = "A" if payload[middle] != "A" else "B"
    payload = payload[:middle] + flipped + payload[middle + 1 :]
    tampered = f"{header}.{payload}.{signature}"
    with pytest.raises(CredentialError):
        verify(tampered, jwks([key]))
    with pytest.raises(jwt.PyJWTError):
        plain_decode(tampered, jwks([key]))


def test_a_visa_with_a_changed_claim_has_a_signature_that_does_not_match(key):
    header, payload, signature = segments(visa_token(key))
    claims = json.loads(unb64(payload))
    claims["ga4gh_visa_v1"]["value"] = "https://data.example.lu/datasets/other"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(CredentialError, match="signature does not match"):
        verify(forged, jwks([key]))
    with pytest.raises(jwt.InvalidSignatureError):
        plain_decode(forged, jwks([key]))


def test_an_expired_visa_fails(key):
    token = visa_token(
        key, asserted=NOW - timedelta(days=30), expires_at=NOW - timedelta(days=1)
    )
    with pytest.raises(CredentialError, match="expired"):
        verify(token, jwks([key]))
    with pytest.raises(jwt.ExpiredSignatureError):
        plain_decode(token, jwks([key]))


def test_a_visa_signed_by_another_key_fails(key, other_key):
    token = visa_token(other_key)
    with pytest.raises(CredentialError, match="not published"):
        verify(token, jwks([key]))
    # After a rotation that publishes both keys, it verifies.
    assert verify(token, jwks([key, other_key]))["sub"] == "person:7"


def test_another_key_cannot_borrow_our_kid(key, other_key):
    _, payload, _ = segments(visa_token(key))
    header = {"alg": "RS256", "kid": key_id(key), "typ": "JWT"}
    forged = jwt.encode(
        json.loads(unb64(payload)), other_key, algorithm="RS256", headers=header
    )
    with pytest.raises(CredentialError, match="signature does not match"):
        verify(forged, jwks([key]))


def test_only_rs256_is_accepted(key):
    claims = {"iss": ISSUER, "sub": "x", "iat": 0, "exp": 2**40, "jti": "j"}
    forged = jwt.encode(
        claims,
        "a-shared-secret-of-32-bytes-or-more!",
        algorithm="HS256",
        headers={"kid": key_id(key)},
    )
    with pytest.raises(CredentialError, match="RS256"):
        verify(forged, jwks([key]))
    with pytest.raises(CredentialError, match="compact JWS"):
        verify("not.a.token", jwks([key]))


def test_the_issuer_and_type_are_checked_when_asked(key):
    token = visa_token(key)
    with pytest.raises(CredentialError, match="not issued by"):
        verify(token, jwks([key]), issuer="https://elsewhere.example")
    with pytest.raises(CredentialError, match="permit\\+jwt"):
        verify(token, jwks([key]), typ="permit+jwt")


def test_times_must_be_timezone_aware_and_in_order(key):
    with pytest.raises(ValueError, match="timezone-aware"):
        visa_token(key, asserted=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="expire after"):
        visa_token(key, asserted=NOW, expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(ValueError, match="expire after"):
        permit_token(key, {}, starts_at=NOW, expires_at=NOW)


# --- Permits --------------------------------------------------------------------------

SCOPE = {
    "datasets": [DATASET],
    "variables": {DATASET: ["age_band", "diagnosis_year"]},
    "form": "spe",
    "purposes": ["art53-1-e"],
    "users": ["person:7", "person:9"],
    "start": "2026-01-01",
    "end": "2026-12-31",
    "conditions": ["no linkage"],
}


def test_a_permit_verifies_and_carries_its_scope(key):
    token = permit_token(key, SCOPE)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "permit+jwt"
    assert header["kid"] == key_id(key)
    assert header["jku"] == JWKS_URL
    claims = verify(token, jwks([key]), issuer=ISSUER, typ="permit+jwt")
    assert claims["sub"] == "42"
    assert claims["permit"] == SCOPE
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["nbf"] == int((NOW - timedelta(days=1)).timestamp())
    assert plain_decode(token, jwks([key])) == claims


def test_a_permit_is_not_valid_before_it_starts(key):
    token = permit_token(key, SCOPE, starts_at=NOW + timedelta(days=7))
    with pytest.raises(CredentialError, match="not valid yet"):
        verify(token, jwks([key]))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(scope=st.dictionaries(st.text(), json_values, max_size=6))
def test_any_json_scope_round_trips(key, scope):
    claims = verify(permit_token(key, scope), jwks([key]))
    assert claims["permit"] == scope
