"""Signing in with a password: sessions, CSRF, rate limiting, and the ledger."""

from __future__ import annotations

import re

from sqlalchemy import select

from datafactory.core.ledger import LedgerEntry
from datafactory.identity.models import Role, SignInFailure
from tests.factories import PASSWORD, person


def csrf(client) -> str:
    return re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text
    ).group(1)


def sign_in(client, email: str, password: str):
    return client.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf(client),
            "next": "/account",
        },
        follow_redirects=False,
    )


def actions(db) -> list[str]:
    return [e.action for e in db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def test_the_right_password_opens_a_session_and_is_ledgered(client, committed, db):
    committed(lambda s: person(s, "rita@uni.lu", roles=((Role.reuser, None),)))
    response = sign_in(client, "Rita@Uni.lu ", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    assert "rita" in client.get("/account").text
    assert actions(db)[-1] == "identity.signed_in"


def test_a_wrong_password_shows_the_form_again_and_is_ledgered(client, committed, db):
    committed(lambda s: person(s, "rita@uni.lu"))
    response = sign_in(client, "rita@uni.lu", "wrong password!")
    assert response.status_code == 401
    assert 'role="alert"' in response.text and 'aria-invalid="true"' in response.text
    assert actions(db)[-1] == "identity.sign_in_failed"
    entry = db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first()
    assert "rita" not in entry.details and "rita" not in entry.subject
    assert (
        client.get(
            "/account", headers={"Accept": "text/html"}, follow_redirects=False
        ).status_code
        == 303
    )


def test_unknown_addresses_fail_the_same_way(client, db):
    response = sign_in(client, "nobody@nowhere.lu", "whatever password")
    assert response.status_code == 401
    assert actions(db)[-1] == "identity.sign_in_failed"


def test_repeated_failures_are_throttled_even_with_the_right_password(
    client, committed, db, runtime
):
    committed(lambda s: person(s, "rita@uni.lu"))
    for _ in range(runtime.settings.sign_in_max_failures):
        assert sign_in(client, "rita@uni.lu", "wrong password!").status_code == 401
    throttled = sign_in(client, "rita@uni.lu", PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert db.query(SignInFailure).count() == runtime.settings.sign_in_max_failures + 1
    details = (
        db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first().details
    )
    assert '"reason":"throttled"' in details


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(
    client, committed, db
):
    committed(lambda s: person(s, "rita@uni.lu"))
    before = len(actions(db))
    response = client.post(
        "/sign-in",
        data={"email": "rita@uni.lu", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403
    forged = client.post(
        "/sign-in",
        data={"email": "rita@uni.lu", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    db.expire_all()
    assert len(actions(db)) == before


def test_signing_out_ends_the_session(client, committed):
    committed(lambda s: person(s, "rita@uni.lu"))
    sign_in(client, "rita@uni.lu", PASSWORD)
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/account").text
    ).group(1)
    client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert (
        client.get(
            "/account", headers={"Accept": "text/html"}, follow_redirects=False
        ).status_code
        == 303
    )


def test_next_never_redirects_off_site(client, committed):
    committed(lambda s: person(s, "rita@uni.lu"))
    response = client.post(
        "/sign-in",
        data={
            "email": "rita@uni.lu",
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": "//evil.example/phish",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
