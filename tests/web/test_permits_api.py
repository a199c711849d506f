"""The access procedure's API over HTTP: every refusal is a specific problem+json that
changes nothing, and a granted permit's visas verify with plain PyJWT and the JWKS."""

from __future__ import annotations

import jwt
import pytest
from sqlalchemy import func, select

from datafactory.core.ledger import LedgerEntry
from datafactory.identity import policy, tokens
from datafactory.identity.actor import Actor
from datafactory.permits.models import Application
from tests.permits.world import World, build_world, complete_form


@pytest.fixture
def world(committed) -> World:
    return committed(build_world)


@pytest.fixture
def bearer(committed, world):
    """An Authorization header for any person of the world, made once per person."""
    made: dict[int, dict[str, str]] = {}

    def header(who) -> dict[str, str]:
        if who.id not in made:

            def issue(session):
                return tokens.create_token(
                    session,
                    Actor.for_person(who),
                    name="test",
                    scopes=policy.token_scopes(),
                    days=30,
                    max_days=365,
                ).secret

            made[who.id] = {"Authorization": f"Bearer {committed(issue)}"}
        return made[who.id]

    return header


def create(client, bearer, world, form=None) -> dict:
    answer = client.post(
        "/api/v1/applications",
        json={"form": form if form is not None else complete_form(world)},
        headers=bearer(world.researcher),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def command(client, bearer, who, app_id, name, **fields):
    return client.post(
        f"/api/v1/applications/{app_id}/commands",
        json={"command": name, **fields},
        headers=bearer(who),
    )


def ledger_size(committed) -> int:
    return committed(lambda s: s.scalar(select(func.count(LedgerEntry.seq))))


def test_a_researcher_applies_and_the_authority_grants_through_the_api(
    client, bearer, world
):
    created = create(client, bearer, world)
    assert created["status"] == "DRAFT"
    assert "submit" in created["allowed_commands"]
    app_id = created["id"]

    gaps = client.get(
        f"/api/v1/applications/{app_id}/completeness", headers=bearer(world.researcher)
    ).json()
    assert [g for g in gaps if g["severity"] == "missing"] == []

    steps = [
        (world.researcher, "submit", {}),
        (world.handler, "start_screening", {}),
        (world.handler, "start_processing", {}),
        (
            world.decider,
            "grant",
            {"comment": "All criteria met.", "conditions": "None."},
        ),
    ]
    for who, name, fields in steps:
        answer = command(client, bearer, who, app_id, name, **fields)
        assert answer.status_code == 200, answer.text
    decided = answer.json()
    assert decided["status"] == "POSITIVE_DECISION_ISSUED"

    criteria = client.get(
        f"/api/v1/applications/{app_id}/criteria", headers=bearer(world.handler)
    ).json()
    assert {c["code"] for c in criteria} >= {"purposes_allowed", "duration"}
    assert all(c["rule"] for c in criteria)

    permits = client.get("/api/v1/permits", headers=bearer(world.colleague)).json()
    assert len(permits) == 1 and permits[0]["status"] == "GRANTED"


def test_a_visa_verifies_with_plain_pyjwt_and_the_published_jwks(
    client, bearer, world, settings
):
    app_id = create(client, bearer, world)["id"]
    for who, name, fields in [
        (world.researcher, "submit", {}),
        (world.handler, "start_screening", {}),
        (world.handler, "start_processing", {}),
        (world.decider, "grant", {"comment": "All criteria met."}),
    ]:
        assert command(client, bearer, who, app_id, name, **fields).status_code == 200

    passport = client.get("/api/v1/passport", headers=bearer(world.researcher)).json()
    visas = passport["ga4gh_passport_v1"]
    assert len(visas) == 2  # one per dataset

    jwks = client.get("/.well-known/jwks.json").json()
    keys = jwt.PyJWKSet.from_dict(jwks)
    for visa in visas:
        kid = jwt.get_unverified_header(visa)["kid"]
        key = next(k for k in keys.keys if k.key_id == kid)
        claims = jwt.decode(
            visa,
            key.key,
            algorithms=["RS256"],
            options={"require": ["iss", "sub", "iat", "exp"]},
        )
        grant = claims["ga4gh_visa_v1"]
        assert grant["type"] == "ControlledAccessGrants"
        assert grant["by"] == "dac"
        assert grant["value"].startswith(f"{settings.base_url}/id/dataset/")
        assert claims["iss"] == settings.base_url
        assert claims["sub"] == f"person:{world.researcher.id}"


def test_an_invalid_transition_is_a_409_problem_naming_state_and_allowed_commands(
    client, bearer, world, committed
):
    app_id = create(client, bearer, world)["id"]
    bearer(world.decider)  # making a token is ledgered too; make it first
    before = ledger_size(committed)
    answer = command(client, bearer, world.decider, app_id, "grant", comment="Yes.")
    assert answer.status_code in (404, 409)
    answer = command(client, bearer, world.researcher, app_id, "start_screening")
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["state"] == "DRAFT"
    assert problem["allowed_commands"] == [
        "invite_assistant",
        "save_draft",
        "submit",
        "withdraw",
    ]
    assert ledger_size(committed) == before


def test_missing_fields_are_listed_on_submission_and_nothing_changes(
    client, bearer, world, committed
):
    form = complete_form(world, title="", prohibited_uses_declared=[])
    app_id = create(client, bearer, world, form)["id"]
    answer = command(client, bearer, world.researcher, app_id, "submit")
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert {"title", "prohibited_uses_declared"} <= fields
    state = committed(lambda s: s.get(Application, app_id).state)
    assert state == "DRAFT"


def test_a_company_cannot_apply_for_a_public_bodies_only_purpose_unnoticed(
    client, bearer, world
):
    form = complete_form(world, organisation_id=world.company, purposes=["ehds-53-1-a"])
    answer = client.post(
        "/api/v1/applications", json={"form": form}, headers=bearer(world.analyst)
    )
    app_id = answer.json()["id"]
    gaps = client.get(
        f"/api/v1/applications/{app_id}/completeness", headers=bearer(world.analyst)
    ).json()
    assert any(g["field"].startswith("purposes") for g in gaps)


@pytest.mark.parametrize(
    ("name", "media_type", "content", "status"),
    [
        ("ethics.pdf", "application/pdf", b"%PDF-1.7\n" + b"x" * 100, 201),
        ("ethics.pdf", "application/pdf", b"MZ\x90\x00 not a pdf", 422),
        ("run.sh", "text/x-shellscript", b"#!/bin/sh\n", 422),
        ("huge.pdf", "application/pdf", b"%PDF-" + b"x" * (10 * 1024 * 1024), 413),
    ],
)
def test_attachments_are_checked_for_size_and_type(
    client, bearer, world, name, media_type, content, status
):
    app_id = create(client, bearer, world)["id"]
    answer = client.post(
        f"/api/v1/applications/{app_id}/attachments",
        files={"file": (name, content, media_type)},
        headers=bearer(world.researcher),
    )
    assert answer.status_code == status, answer.text
    if status == 201:
        attachment = answer.json()
        download = client.get(
            f"/api/v1/applications/{app_id}/attachments/{attachment['id']}",
            headers=bearer(world.researcher),
        )
        assert download.content == content
    else:
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_strangers_and_anonymous_visitors_learn_nothing(client, bearer, world):
    app_id = create(client, bearer, world)["id"]
    assert client.get(f"/api/v1/applications/{app_id}").status_code == 401
    stranger = client.get(
        f"/api/v1/applications/{app_id}", headers=bearer(world.outsider)
    )
    assert stranger.status_code == 404
    assert (
        client.get(
            f"/api/v1/applications/{app_id}", headers=bearer(world.handler)
        ).status_code
        == 200
    )


def test_a_stale_expected_version_is_a_409(client, bearer, world):
    app_id = create(client, bearer, world)["id"]
    answer = command(
        client, bearer, world.researcher, app_id, "submit", expected_version=0
    )
    assert answer.status_code == 409
    assert answer.json()["version"] == 1


def test_the_decider_revokes_with_a_reason(client, bearer, world):
    app_id = create(client, bearer, world)["id"]
    for who, name, fields in [
        (world.researcher, "submit", {}),
        (world.handler, "start_screening", {}),
        (world.handler, "start_processing", {}),
        (world.decider, "grant", {"comment": "All criteria met."}),
    ]:
        command(client, bearer, who, app_id, name, **fields)
    permit_id = client.get("/api/v1/permits", headers=bearer(world.researcher)).json()[
        0
    ]["id"]
    short = client.post(
        f"/api/v1/permits/{permit_id}/revoke",
        json={"reason": "no"},
        headers=bearer(world.decider),
    )
    assert short.status_code == 422
    by_handler = client.post(
        f"/api/v1/permits/{permit_id}/revoke",
        json={"reason": "Breach of the permit's conditions."},
        headers=bearer(world.handler),
    )
    assert by_handler.status_code == 403
    revoked = client.post(
        f"/api/v1/permits/{permit_id}/revoke",
        json={"reason": "Breach of the permit's conditions."},
        headers=bearer(world.decider),
    )
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "REVOKED"
    passport = client.get("/api/v1/passport", headers=bearer(world.researcher)).json()
    assert passport["ga4gh_passport_v1"] == []
