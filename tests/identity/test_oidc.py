"""Sign-in through an operator-configured OpenID Connect provider, end to end.

The provider is a real one (tests/support/oidc_provider.py) served over HTTP on 127.0.0.1:
the browser's hop to its authorization endpoint is a real HTTP request, and so are the
platform's calls to its discovery, token and key endpoints.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datafactory.core.config import OidcProvider, Settings
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.models import OidcAccount, Person
from datafactory.runtime import Runtime
from datafactory.web.app import create_app
from tests import factories
from tests.support.oidc_provider import LocalOidcProvider, Misbehaviour, OidcUser

NAME = "test-idp"
CALLBACK = f"http://testserver/oidc/{NAME}/callback"


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idp_server() -> Iterator[LocalOidcProvider]:
    with LocalOidcProvider(redirect_uris=(CALLBACK,)) as provider:
        yield provider


@pytest.fixture
def idp(idp_server: LocalOidcProvider) -> LocalOidcProvider:
    idp_server.reset()
    return idp_server


@pytest.fixture
def link_verified_email() -> bool:
    """Parametrize this to turn on linking by verified e-mail address."""
    return False


@pytest.fixture
def client_secret(idp: LocalOidcProvider) -> str:
    """Parametrize this to give the platform a wrong client secret."""
    return idp.client_secret


@pytest.fixture
def settings(
    settings: Settings,
    idp: LocalOidcProvider,
    link_verified_email: bool,
    client_secret: str,
) -> Settings:
    """The shared settings, with the test provider configured by the operator."""
    provider = OidcProvider(
        name=NAME,
        label="Test IdP",
        issuer=idp.issuer,
        client_id=idp.client_id,
        client_secret=client_secret,
        link_verified_email=link_verified_email,
    )
    return settings.model_copy(
        update={"base_url": "http://testserver", "oidc_providers": [provider]}
    )


@dataclass(frozen=True)
class Counts:
    people: int
    accounts: int
    ledger: int


@pytest.fixture
def counts(committed):  # type: ignore[no-untyped-def]
    """How many people, linked accounts and ledger entries there are now."""

    def count() -> Counts:
        def read(session: Session) -> Counts:
            def rows(model: type) -> int:
                return session.scalar(select(func.count()).select_from(model)) or 0

            return Counts(rows(Person), rows(OidcAccount), rows(LedgerEntry))

        result: Counts = committed(read)
        return result

    return count


@pytest.fixture
def read(committed):  # type: ignore[no-untyped-def]
    """Run a query in a fresh transaction, so it sees what the app committed."""
    return committed


# --- driving the flow -------------------------------------------------------------------


def start(client: TestClient, next: str = "/account") -> str:
    """Press the provider's button; return where the browser is sent."""
    response = client.get(
        f"/oidc/{NAME}/login", params={"next": next}, follow_redirects=False
    )
    assert response.status_code == 302, response.text
    return response.headers["location"]


def approve(authorize_url: str) -> str:
    """The browser's real request to the provider; return the callback it is sent to."""
    with httpx.Client(trust_env=False) as browser:
        response = browser.get(authorize_url, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def sign_in(client: TestClient, next: str = "/account") -> httpx.Response:
    callback = approve(start(client, next))
    assert callback.startswith(CALLBACK + "?")
    return client.get(callback, follow_redirects=False)


def new_entries(read, since: int) -> list[LedgerEntry]:  # type: ignore[no-untyped-def]
    def query(session: Session) -> list[LedgerEntry]:
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.seq > since).order_by(LedgerEntry.seq)
        )
        result = list(entries)
        session.expunge_all()
        return result

    entries: list[LedgerEntry] = read(query)
    return entries


def ledger_head(read) -> int:  # type: ignore[no-untyped-def]
    def query(session: Session) -> int:
        return session.scalar(select(func.max(LedgerEntry.seq))) or 0

    head: int = read(query)
    return head


def account_of(read, idp: LocalOidcProvider, subject: str) -> OidcAccount | None:  # type: ignore[no-untyped-def]
    def query(session: Session) -> OidcAccount | None:
        found = session.scalar(
            select(OidcAccount).where(
                OidcAccount.issuer == idp.issuer, OidcAccount.subject == subject
            )
        )
        session.expunge_all()
        return found

    found: OidcAccount | None = read(query)
    return found


def person_by_id(read, person_id: int) -> Person:  # type: ignore[no-untyped-def]
    def query(session: Session) -> Person:
        person = session.get(Person, person_id)
        assert person is not None
        assert person.memberships is not None  # loaded before the person is detached
        session.expunge_all()
        return person

    person: Person = read(query)
    return person


def assert_signed_out(client: TestClient) -> None:
    assert client.get("/account", follow_redirects=False).status_code == 401


# --- signing in -------------------------------------------------------------------------


def test_the_login_button_sends_the_browser_to_the_provider_with_state_nonce_and_pkce(
    client, idp
):
    authorize_url = start(client)

    parts = urlsplit(authorize_url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{idp.issuer}/authorize"
    assert query["client_id"] == idp.client_id
    assert query["redirect_uri"] == CALLBACK
    assert query["response_type"] == "code"
    assert query["scope"].split() == ["openid", "email", "profile"]
    assert len(query["state"]) >= 20
    assert len(query["nonce"]) >= 20
    assert query["code_challenge_method"] == "S256"


def test_a_first_sign_in_creates_a_person_without_roles_and_links_the_account(
    client, idp, counts, read
):
    before = counts()
    head = ledger_head(read)

    response = sign_in(client)

    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert "Ada Lovelace" in page.text
    assert "You hold no roles yet." in page.text

    assert counts() == Counts(before.people + 1, before.accounts + 1, before.ledger + 3)
    account = account_of(read, idp, "a1b2c3")
    assert account is not None
    assert account.provider == NAME
    person = person_by_id(read, account.person_id)
    assert person.email == "ada@example.lu"
    assert person.name == "Ada Lovelace"
    assert person.password_hash is None
    assert person.memberships == []

    entries = new_entries(read, head)
    assert [e.action for e in entries] == [
        "identity.person.created",
        "identity.oidc.linked",
        "identity.signed_in",
    ]
    assert {e.subject for e in entries} == {f"person:{person.id}"}
    assert entries[0].actor == f"system:oidc:{NAME}"
    assert f'"method":"oidc:{NAME}"' in entries[0].details
    assert idp.issuer in entries[1].details
    assert f'"method":"oidc:{NAME}"' in entries[2].details
    assert entries[2].actor == f"person:{person.id}"

    # The platform authenticated at the token endpoint and sent its PKCE verifier.
    assert [(r.auth_method, r.used_pkce) for r in idp.token_requests] == [
        ("client_secret_basic", True)
    ]


def test_a_second_sign_in_with_the_same_subject_reuses_the_same_person(
    client, idp, counts, read
):
    assert sign_in(client).status_code == 303
    first = account_of(read, idp, "a1b2c3")
    assert first is not None
    client.cookies.clear()
    assert_signed_out(client)
    after_first = counts()
    head = ledger_head(read)
    # A new e-mail address and name at the provider do not make a new person.
    idp.user = OidcUser(sub="a1b2c3", email="ada@lovelace.example", name="Ada L.")

    response = sign_in(client)

    assert response.status_code == 303
    assert "Ada Lovelace" in client.get("/account").text
    assert counts() == Counts(
        after_first.people, after_first.accounts, after_first.ledger + 1
    )
    again = account_of(read, idp, "a1b2c3")
    assert again is not None
    assert again.person_id == first.person_id
    assert [e.action for e in new_entries(read, head)] == ["identity.signed_in"]


def test_a_sign_in_goes_back_to_a_local_next_path_only(client, idp):
    assert sign_in(client, next="https://evil.example/").headers["location"] == "/"
    client.cookies.clear()
    assert sign_in(client, next="//evil.example/x").headers["location"] == "/"
    client.cookies.clear()
    assert sign_in(client, next="/audit?page=2").headers["location"] == "/audit?page=2"


def test_subjects_that_differ_only_in_case_are_different_people(client, idp, read):
    idp.user = OidcUser(sub="AbC", email=None, name="Upper")
    assert sign_in(client).status_code == 303
    client.cookies.clear()
    idp.user = OidcUser(sub="abc", email=None, name="Lower")
    assert sign_in(client).status_code == 303

    upper, lower = account_of(read, idp, "AbC"), account_of(read, idp, "abc")
    assert upper is not None and lower is not None
    assert upper.person_id != lower.person_id
    assert person_by_id(read, upper.person_id).email.endswith(f"@{NAME}.oidc.invalid")


def test_a_deactivated_person_cannot_sign_in_through_the_provider(
    client, idp, counts, committed
):
    assert sign_in(client).status_code == 303
    client.cookies.clear()

    def deactivate(session: Session) -> None:
        person = session.scalar(select(Person).where(Person.email == "ada@example.lu"))
        assert person is not None
        person.active = False

    committed(deactivate)
    before = counts()

    response = sign_in(client)

    assert response.status_code == 401
    assert response.json()["detail"] == "This account is deactivated."
    assert counts() == before
    assert_signed_out(client)


# --- linking by verified e-mail address -------------------------------------------------


@pytest.mark.parametrize("link_verified_email", [True])
def test_a_verified_email_links_the_account_to_the_existing_person(
    client, idp, counts, read, committed
):
    existing = committed(lambda s: factories.person(s, "ada@example.lu").id)
    before = counts()
    head = ledger_head(read)
    idp.user = OidcUser(email="Ada@Example.LU", email_verified=True)

    response = sign_in(client)

    assert response.status_code == 303
    account = account_of(read, idp, "a1b2c3")
    assert account is not None
    assert account.person_id == existing
    assert counts() == Counts(before.people, before.accounts + 1, before.ledger + 2)
    assert [e.action for e in new_entries(read, head)] == [
        "identity.oidc.linked",
        "identity.signed_in",
    ]
    # Signed in as the existing person, whose name the factory made from the address.
    assert "Signed in as <strong>ada</strong>" in client.get("/account").text


@pytest.mark.parametrize("link_verified_email", [True])
@pytest.mark.parametrize("email_verified", [False, "false"])
def test_an_unverified_email_is_not_linked_but_gets_a_person_of_its_own(
    client, idp, counts, read, committed, email_verified
):
    existing = committed(lambda s: factories.person(s, "ada@example.lu").id)
    before = counts()
    idp.user = OidcUser(email="ada@example.lu", email_verified=email_verified)

    response = sign_in(client)

    assert response.status_code == 303
    account = account_of(read, idp, "a1b2c3")
    assert account is not None
    assert account.person_id != existing
    assert counts().people == before.people + 1
    newcomer = person_by_id(read, account.person_id)
    assert newcomer.email.endswith(f"@{NAME}.oidc.invalid")
    assert newcomer.memberships == []


def test_a_verified_email_is_not_linked_unless_the_operator_turned_linking_on(
    client, idp, counts, read, committed
):
    existing = committed(lambda s: factories.person(s, "ada@example.lu").id)
    before = counts()

    assert sign_in(client).status_code == 303

    account = account_of(read, idp, "a1b2c3")
    assert account is not None
    assert account.person_id != existing
    assert counts().people == before.people + 1


# --- refusals: nothing is written -------------------------------------------------------


def test_a_tampered_state_is_refused_and_nothing_is_written(client, idp, counts):
    callback = approve(start(client))
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["state"] = query["state"][:-1] + ("A" if query["state"][-1] != "A" else "B")
    before = counts()

    response = client.get(f"{CALLBACK}?{urlencode(query)}", follow_redirects=False)

    assert response.status_code == 401
    assert response.json()["detail"] == (
        "The sign-in provider refused: mismatching_state."
    )
    assert counts() == before
    assert idp.token_requests == []  # the code was never redeemed
    assert_signed_out(client)


def test_a_callback_from_another_browser_is_refused(client, idp, app, counts):
    callback = approve(start(client))
    before = counts()

    with TestClient(app, base_url="http://testserver") as other_browser:
        response = other_browser.get(callback, follow_redirects=False)

    assert response.status_code == 401
    assert counts() == before


def test_a_callback_cannot_be_replayed(client, idp, counts):
    callback = approve(start(client))
    assert client.get(callback, follow_redirects=False).status_code == 303
    before = counts()

    replayed = client.get(callback, follow_redirects=False)

    assert replayed.status_code == 401
    assert counts() == before


@pytest.mark.parametrize(
    ("misbehaviour", "detail"),
    [
        (Misbehaviour.wrong_audience, "Invalid claim: 'aud'"),
        (Misbehaviour.foreign_audience_with_azp, "Invalid claim: 'aud'"),
        (Misbehaviour.bad_signature, "bad signature"),
        (Misbehaviour.wrong_issuer, "Invalid claim: 'iss'"),
        (Misbehaviour.wrong_nonce, "Invalid claim: 'nonce'"),
        (Misbehaviour.expired, "expired"),
    ],
)
def test_an_id_token_that_does_not_check_out_is_refused_and_nothing_is_written(
    client, idp, counts, misbehaviour, detail
):
    idp.misbehave = misbehaviour
    before = counts()

    response = sign_in(client)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    message = response.json()["detail"]
    assert message.startswith("The sign-in provider's ID token is not valid (")
    assert detail in message
    assert counts() == before
    assert_signed_out(client)


def test_a_token_answer_without_an_id_token_is_refused(client, idp, counts):
    idp.misbehave = Misbehaviour.no_id_token
    before = counts()

    response = sign_in(client)

    assert response.status_code == 401
    assert response.json()["detail"] == "The sign-in provider sent no ID token."
    assert counts() == before


def test_a_refusal_at_the_provider_is_refused_here_too(client, idp, counts):
    idp.misbehave = Misbehaviour.deny
    before = counts()

    response = sign_in(client)

    assert response.status_code == 401
    assert response.json()["detail"] == "The sign-in provider refused: access_denied."
    assert counts() == before


@pytest.mark.parametrize("client_secret", ["not-the-secret"])
def test_a_wrong_client_secret_is_refused_by_the_provider(client, idp, counts):
    before = counts()

    response = sign_in(client)

    assert response.status_code == 401
    assert response.json()["detail"] == "The sign-in provider refused: invalid_client."
    assert idp.token_requests[0].auth_method == "none"
    assert counts() == before


def test_a_provider_that_cannot_be_reached_gives_a_clear_401(settings):
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        issuer = f"http://127.0.0.1:{bound.getsockname()[1]}"
        provider = settings.oidc_providers[0].model_copy(update={"issuer": issuer})
        runtime = Runtime(settings.model_copy(update={"oidc_providers": [provider]}))
        try:
            app = create_app(runtime=runtime)
            with TestClient(app, base_url="http://testserver") as browser:
                response = browser.get(f"/oidc/{NAME}/login", follow_redirects=False)
        finally:
            runtime.dispose()

    assert response.status_code == 401
    assert response.json()["detail"] == (
        "The sign-in provider cannot be reached. Try again later."
    )


# --- pages ------------------------------------------------------------------------------


def test_an_unknown_provider_name_gives_404(client):
    for path in ("/oidc/nope/login", "/oidc/nope/callback?code=x&state=y"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404
        assert response.json()["detail"] == "There is no sign-in provider 'nope'."


def test_the_sign_in_page_lists_the_configured_provider(client):
    page = client.get("/sign-in", params={"next": "/account"})

    assert page.status_code == 200
    assert "Test IdP" in page.text
    assert f'href="/oidc/{NAME}/login?next=/account"' in page.text
