"""API tokens: hashed at rest, scoped, expiring, revocable, and ledgered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from datafactory.core.db import utcnow
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.models import ApiToken, Role
from tests.factories import person_with_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_stored_only_as_its_hash_and_works_as_bearer(client, committed, db):
    who = committed(
        lambda s: person_with_token(s, "r@uni.lu", roles=((Role.reuser, None),))
    )
    stored = db.scalars(select(ApiToken)).one()
    assert who.token not in (stored.token_hash, stored.prefix)
    assert stored.token_hash != who.token and len(stored.token_hash) == 64
    response = client.get("/api/me", headers=bearer(who.token))
    assert response.status_code == 200
    assert response.json()["person_id"] == who.person_id
    assert ["reuser", None] in [
        [r["role"], r["organisation_id"]] for r in response.json()["roles"]
    ]


def test_creating_a_token_through_the_api_shows_the_secret_once(client, committed, db):
    who = committed(lambda s: person_with_token(s, "a@uni.lu"))
    created = client.post(
        "/api/tokens",
        headers=bearer(who.token),
        json={"name": "laptop", "scopes": ["account"], "days": 7},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("dft_") and body["scopes"] == ["account"]
    listed = client.get("/api/tokens", headers=bearer(who.token)).json()
    assert all("secret" not in t for t in listed)
    assert {t["name"] for t in listed} == {"test", "laptop"}
    entry = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "identity.token.created")
    ).all()[-1]
    assert body["secret"] not in entry.details
    assert '"name":"laptop"' in entry.details


def test_a_token_only_acts_within_its_scopes(client, committed):
    who = committed(
        lambda s: person_with_token(
            s, "aud@cgpd.lu", roles=((Role.auditor, None),), scopes=["account"]
        )
    )
    assert client.get("/api/me", headers=bearer(who.token)).status_code == 200
    refused = client.get("/api/audit/entries", headers=bearer(who.token))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_token_cannot_mint_a_token_with_wider_scopes(client, committed, db):
    who = committed(lambda s: person_with_token(s, "n@uni.lu", scopes=["account"]))
    response = client.post(
        "/api/tokens",
        headers=bearer(who.token),
        json={"name": "wider", "scopes": ["account", "audit"], "days": 7},
    )
    assert response.status_code == 422
    assert db.scalars(select(ApiToken)).all().__len__() == 1


def test_revoked_and_expired_tokens_get_401_problem(client, committed, runtime):
    first = committed(lambda s: person_with_token(s, "one@uni.lu"))
    second = committed(lambda s: person_with_token(s, "two@uni.lu"))
    token_id = client.get("/api/tokens", headers=bearer(first.token)).json()[0]["id"]
    assert (
        client.delete(
            f"/api/tokens/{token_id}", headers=bearer(first.token)
        ).status_code
        == 204
    )
    revoked = client.get("/api/me", headers=bearer(first.token))
    assert revoked.status_code == 401
    assert revoked.json()["type"].endswith("/unauthenticated")
    assert "revoked" in revoked.json()["detail"]

    def expire(session):
        for token in session.scalars(
            select(ApiToken).where(ApiToken.person_id == second.person_id)
        ):
            token.expires_at = utcnow() - timedelta(seconds=1)

    committed(expire)
    assert client.get("/api/me", headers=bearer(second.token)).status_code == 401
    assert (
        client.get("/api/me", headers=bearer("dft_not-a-real-token")).status_code == 401
    )


def test_nobody_can_revoke_someone_elses_token(client, committed, db):
    owner = committed(lambda s: person_with_token(s, "owner@uni.lu"))
    other = committed(lambda s: person_with_token(s, "other@uni.lu"))
    token_id = client.get("/api/tokens", headers=bearer(owner.token)).json()[0]["id"]
    response = client.delete(f"/api/tokens/{token_id}", headers=bearer(other.token))
    assert response.status_code == 404
    assert db.get(ApiToken, token_id).revoked_at is None
    assert client.get("/api/me", headers=bearer(owner.token)).status_code == 200


def test_bad_token_requests_name_the_fields(client, committed):
    who = committed(lambda s: person_with_token(s, "x@uni.lu"))
    response = client.post(
        "/api/tokens",
        headers=bearer(who.token),
        json={"name": "t", "scopes": ["nonsense"], "days": 100000},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"scopes", "days"}
