"""Every error answers RFC 9457 problem+json, with no stack trace, and writes nothing."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from datafactory.core.ledger import LedgerEntry
from datafactory.identity.models import ApiToken, Role
from datafactory.web.app import create_app
from tests.factories import person_with_token

PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def count(db, model) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


def test_unknown_addresses_and_methods_are_problems(client):
    assert_problem(client.get("/api/nothing-here"), 404)
    assert_problem(client.put("/api/me"), 405)


def test_anonymous_api_calls_get_401_with_a_bearer_challenge(client):
    response = client.get("/api/people")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_malformed_json_is_400_and_writes_nothing(client, committed, db):
    who = committed(lambda s: person_with_token(s, "a@uni.lu"))
    before = count(db, LedgerEntry)
    response = client.post(
        "/api/tokens",
        headers={**bearer(who.token), "content-type": "application/json"},
        content=b'{"name": "x", "scopes": [',
    )
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]
    assert count(db, LedgerEntry) == before and count(db, ApiToken) == 1


def test_invalid_fields_are_422_with_each_field_named(client, committed):
    who = committed(lambda s: person_with_token(s, "a@uni.lu"))
    response = client.post(
        "/api/tokens",
        headers=bearer(who.token),
        json={"name": "", "scopes": [], "extra": 1},
    )
    body = assert_problem(response, 422)
    assert {"name", "scopes", "extra"} <= {e["field"] for e in body["errors"]}


def test_oversized_bodies_are_413_whether_announced_or_streamed(
    client, committed, runtime, db
):
    who = committed(lambda s: person_with_token(s, "a@uni.lu"))
    before = count(db, LedgerEntry)
    too_big = b"x" * (runtime.settings.max_body_bytes + 1)
    announced = client.post(
        "/api/tokens",
        headers={**bearer(who.token), "content-type": "application/json"},
        content=too_big,
    )
    assert_problem(announced, 413)

    def chunks():
        for _ in range(runtime.settings.max_body_bytes // 65536 + 2):
            yield b"y" * 65536

    streamed = client.post(
        "/api/tokens",
        headers={**bearer(who.token), "content-type": "application/json"},
        content=chunks(),
    )
    assert_problem(streamed, 413)
    assert count(db, LedgerEntry) == before


def test_an_unexpected_error_is_500_with_a_request_id_and_no_trace(runtime):
    app = create_app(runtime=runtime)
    boom = APIRouter()

    @boom.get("/api/boom")
    def explode() -> None:
        raise ZeroDivisionError("secret internals")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/boom", headers={"X-Request-ID": "req-12345678"})
    body = assert_problem(response, 500)
    assert "secret internals" not in response.text
    assert "req-12345678" in body["detail"]


def test_role_changes_are_ledgered_and_a_failure_after_the_entry_leaves_nothing(
    client, committed, db
):
    admin = committed(
        lambda s: person_with_token(s, "admin@lu.lu", roles=((Role.admin, None),))
    )
    target = committed(lambda s: person_with_token(s, "t@uni.lu"))
    granted = client.post(
        f"/api/people/{target.person_id}/roles",
        headers=bearer(admin.token),
        json={"role": "handler"},
    )
    assert granted.status_code == 201
    last = db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first()
    assert (
        last.action == "identity.role.granted"
        and last.actor == f"person:{admin.person_id}"
    )
    again = client.post(
        f"/api/people/{target.person_id}/roles",
        headers=bearer(admin.token),
        json={"role": "handler"},
    )
    assert_problem(again, 409)
    revoked = client.delete(
        f"/api/people/{target.person_id}/roles/handler", headers=bearer(admin.token)
    )
    assert revoked.status_code == 204
    db.expire_all()
    last = db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first()
    assert last.action == "identity.role.revoked"


def test_a_commit_that_fails_after_the_ledger_entry_rolls_everything_back(
    runtime, committed, db
):
    """The request's unit of work is one transaction: if it cannot commit, neither the
    change nor its ledger entry exist, and the client gets an error, not a success."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    admin = committed(
        lambda s: person_with_token(s, "admin@lu.lu", roles=((Role.admin, None),))
    )
    target = committed(lambda s: person_with_token(s, "t@uni.lu"))
    before = count(db, LedgerEntry)

    def fail_commit(session: Session) -> None:
        if any(isinstance(o, LedgerEntry) for o in session.new) or session.info.get(
            "armed"
        ):
            raise RuntimeError("storage failed during commit")

    def arm(session: Session, flush_context, instances) -> None:
        if any(isinstance(o, LedgerEntry) for o in session.new):
            session.info["armed"] = True

    app = create_app(runtime=runtime)
    event.listen(runtime.sessions, "before_flush", arm)
    event.listen(runtime.sessions, "before_commit", fail_commit)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post(
                f"/api/people/{target.person_id}/roles",
                headers=bearer(admin.token),
                json={"role": "decider"},
            )
    finally:
        event.remove(runtime.sessions, "before_flush", arm)
        event.remove(runtime.sessions, "before_commit", fail_commit)
    assert_problem(response, 500)
    assert count(db, LedgerEntry) == before
    from datafactory.identity.models import Membership

    assert (
        db.scalars(select(Membership).where(Membership.role == "decider")).all() == []
    )
