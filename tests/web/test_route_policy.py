"""Every route, every role: the answer matches the table kept here.

A new route without a row in this table fails the suite, and so does a route whose policy
answers differently from what the table says. Allowed means "not 401/403" (the request may
still be invalid or point at nothing); refused means 401 for nobody and 403 for a role.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from datafactory.identity.models import Role
from tests.factories import PASSWORD, organisation, person_with_token

ANYONE = "anyone"
SIGNED_IN = "signed in"
ALL_ROLES = frozenset(Role)
ADMIN = frozenset({Role.admin})
AUDIT = frozenset({Role.auditor, Role.admin})
STEWARDS = frozenset({Role.data_steward, Role.catalogue_admin, Role.admin})
REUSERS = frozenset({Role.reuser})
AUTHORITY = frozenset({Role.handler, Role.decider, Role.auditor})
TTP = frozenset({Role.ttp_operator})
CHECKERS = frozenset({Role.output_checker})
RELEASES = "/api/v1/spe/release-requests"

EXPECTED: dict[tuple[str, str], object] = {
    ("GET", "/healthz"): ANYONE,
    ("GET", "/metrics"): ANYONE,
    ("GET", "/api/docs"): ANYONE,
    ("GET", "/api/me"): SIGNED_IN,
    ("GET", "/api/organisations"): ANYONE,
    ("GET", "/api/people"): ADMIN,
    ("POST", "/api/people/{person_id}/roles"): ADMIN,
    ("DELETE", "/api/people/{person_id}/roles/{role}"): ADMIN,
    ("GET", "/api/tokens"): SIGNED_IN,
    ("POST", "/api/tokens"): SIGNED_IN,
    ("DELETE", "/api/tokens/{token_id}"): SIGNED_IN,
    ("GET", "/api/audit/entries"): AUDIT,
    ("GET", "/api/audit/head"): AUDIT,
    ("POST", "/api/audit/verifications"): AUDIT,
    ("GET", "/api/jobs/{job_id}"): SIGNED_IN,
    ("GET", "/"): ANYONE,
    ("GET", "/language/{code}"): ANYONE,
    ("GET", "/sign-in"): ANYONE,
    ("POST", "/sign-in"): ANYONE,
    ("POST", "/sign-out"): ANYONE,
    ("GET", "/oidc/{name}/login"): ANYONE,
    ("GET", "/oidc/{name}/callback"): ANYONE,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/tokens"): SIGNED_IN,
    ("POST", "/account/tokens/{token_id}/revoke"): SIGNED_IN,
    ("GET", "/admin/people"): ADMIN,
    ("POST", "/admin/roles/grant"): ADMIN,
    ("POST", "/admin/roles/revoke"): ADMIN,
    ("GET", "/audit"): AUDIT,
    ("POST", "/audit/verifications"): AUDIT,
    ("GET", "/jobs/{job_id}"): SIGNED_IN,
    ("GET", "/jobs/{job_id}/status"): SIGNED_IN,
    ("GET", "/api/v1/datasets"): ANYONE,
    ("POST", "/api/v1/datasets"): STEWARDS,
    ("GET", "/api/v1/datasets/{dataset_id}"): ANYONE,
    ("PATCH", "/api/v1/datasets/{dataset_id}"): STEWARDS,
    ("POST", "/api/v1/datasets/{dataset_id}/publish"): STEWARDS,
    ("DELETE", "/api/v1/datasets/{dataset_id}"): STEWARDS,
    ("GET", "/api/v1/datasets/{dataset_id}/versions/{number}"): ANYONE,
    ("GET", "/id/dataset/{dataset_id}"): ANYONE,
    ("GET", "/api/v1/services"): ANYONE,
    ("POST", "/api/v1/services"): STEWARDS,
    ("GET", "/api/v1/services/{service_id}"): ANYONE,
    ("PATCH", "/api/v1/services/{service_id}"): STEWARDS,
    ("POST", "/api/v1/services/{service_id}/publish"): STEWARDS,
    ("DELETE", "/api/v1/services/{service_id}"): STEWARDS,
    ("GET", "/api/v1/services/{service_id}/versions/{number}"): ANYONE,
    ("GET", "/id/service/{service_id}"): ANYONE,
    ("GET", "/api/v1/series"): ANYONE,
    ("POST", "/api/v1/series"): STEWARDS,
    ("GET", "/api/v1/series/{series_id}"): ANYONE,
    ("PATCH", "/api/v1/series/{series_id}"): STEWARDS,
    ("POST", "/api/v1/series/{series_id}/publish"): STEWARDS,
    ("DELETE", "/api/v1/series/{series_id}"): STEWARDS,
    ("GET", "/api/v1/series/{series_id}/versions/{number}"): ANYONE,
    ("GET", "/id/series/{series_id}"): ANYONE,
    ("GET", "/services"): ANYONE,
    ("GET", "/series"): ANYONE,
    ("GET", "/services/{service_id}"): ANYONE,
    ("GET", "/series/{series_id}"): ANYONE,
    ("GET", "/services/new"): STEWARDS,
    ("POST", "/services/new"): STEWARDS,
    ("GET", "/services/{service_id}/edit"): STEWARDS,
    ("POST", "/services/{service_id}/edit"): STEWARDS,
    ("POST", "/services/{service_id}/publish"): STEWARDS,
    ("GET", "/series/new"): STEWARDS,
    ("POST", "/series/new"): STEWARDS,
    ("GET", "/series/{series_id}/edit"): STEWARDS,
    ("POST", "/series/{series_id}/edit"): STEWARDS,
    ("POST", "/series/{series_id}/publish"): STEWARDS,
    ("GET", "/catalogue.{extension}"): ANYONE,
    ("GET", "/datasets"): ANYONE,
    ("GET", "/api/3/action/{action}"): ANYONE,
    ("POST", "/api/3/action/{action}"): ANYONE,
    ("GET", "/api/action/{action}"): ANYONE,
    ("POST", "/api/action/{action}"): ANYONE,
    ("GET", "/datasets/{dataset_id}"): ANYONE,
    ("GET", "/api/v1/harvest/sources"): frozenset({Role.catalogue_admin, Role.admin}),
    ("POST", "/api/v1/harvest/sources"): frozenset({Role.catalogue_admin, Role.admin}),
    ("POST", "/api/v1/harvest/sources/{source_id}/runs"): frozenset(
        {Role.catalogue_admin, Role.admin}
    ),
    ("GET", "/api/v1/harvest/runs/{job_id}"): frozenset(
        {Role.catalogue_admin, Role.admin}
    ),
    ("GET", "/admin/harvest"): frozenset({Role.catalogue_admin, Role.admin}),
    ("POST", "/admin/harvest/{source_id}/runs"): frozenset(
        {Role.catalogue_admin, Role.admin}
    ),
    ("GET", "/api/v1/datasets/{dataset_id}/quality"): ANYONE,
    ("GET", "/api/v1/quality"): ANYONE,
    ("POST", "/api/v1/quality/link-checks"): frozenset(
        {Role.catalogue_admin, Role.admin}
    ),
    ("GET", "/api/v1/datasets/{dataset_id}/citation"): ANYONE,
    ("GET", "/id/dataset/{dataset_id}/version/{number}"): ANYONE,
    ("POST", "/api/v1/products"): frozenset(
        {Role.data_steward, Role.reuser, Role.catalogue_admin, Role.admin}
    ),
    ("GET", "/api/v1/products/{product_id}"): ANYONE,
    ("GET", "/api/v1/datasets/{dataset_id}/products"): ANYONE,
    ("GET", "/quality"): ANYONE,
    ("GET", "/datasets/new"): STEWARDS,
    ("POST", "/datasets/new"): STEWARDS,
    ("GET", "/datasets/{dataset_id}/edit"): STEWARDS,
    ("POST", "/datasets/{dataset_id}/edit"): STEWARDS,
    ("POST", "/datasets/{dataset_id}/publish"): STEWARDS,
    ("GET", "/publishers/{slug}"): ANYONE,
    ("GET", "/.well-known/jwks.json"): ANYONE,
    ("GET", "/api/v1/register/applications"): ANYONE,
    ("GET", "/api/v1/register/decisions"): ANYONE,
    ("GET", "/api/v1/register/permits"): ANYONE,
    ("GET", "/api/v1/register/successes"): ANYONE,
    ("GET", "/register/feed.atom"): ANYONE,
    ("GET", "/api/v1/kpis"): ANYONE,
    ("GET", "/register"): ANYONE,
    ("GET", "/register/kpis"): ANYONE,
    ("GET", "/applications"): SIGNED_IN,
    ("GET", "/applications/new"): REUSERS,
    ("POST", "/applications/new"): REUSERS,
    ("GET", "/applications/{application_id}/edit"): SIGNED_IN,
    ("POST", "/applications/{application_id}/edit"): SIGNED_IN,
    ("GET", "/inbox"): SIGNED_IN,
    ("POST", "/inbox/read-all"): SIGNED_IN,
    ("POST", "/inbox/{notification_id}/read"): SIGNED_IN,
    ("GET", "/permits"): SIGNED_IN,
    ("GET", "/permits/passport.json"): SIGNED_IN,
    ("GET", "/permits/{permit_id}"): SIGNED_IN,
    ("GET", "/applications/{application_id}"): SIGNED_IN,
    ("POST", "/applications/{application_id}/commands"): SIGNED_IN,
    ("GET", "/applications/{application_id}/attachments/{attachment_id}"): SIGNED_IN,
    ("GET", "/authority/queue"): AUTHORITY,
    ("GET", "/reviews"): SIGNED_IN,
    ("POST", "/permits/{permit_id}/change"): REUSERS,
    ("POST", "/permits/{permit_id}/revoke"): frozenset({Role.decider}),
    ("GET", "/api/v1/ttp/domains"): TTP,
    ("POST", "/api/v1/ttp/domains"): TTP,
    ("POST", "/api/v1/ttp/domains/{domain}/rotation"): TTP,
    ("POST", "/api/v1/ttp/domains/{domain}/retirement"): TTP,
    ("POST", "/api/v1/ttp/domains/{domain}/pseudonymisations"): TTP,
    ("POST", "/api/v1/ttp/keys/rotation"): TTP,
    ("GET", "/api/v1/ttp/reidentifications"): TTP,
    ("POST", "/api/v1/ttp/reidentifications"): TTP,
    ("POST", "/api/v1/ttp/reidentifications/{request_id}/approval"): TTP,
    ("POST", "/api/v1/ttp/reidentifications/{request_id}/refusal"): TTP,
    ("POST", "/api/v1/ttp/reidentifications/{request_id}/reveal"): TTP,
    ("POST", "/api/v1/ttp/lookups"): TTP,
    ("GET", "/ttp/review"): TTP,
    ("PUT", "/api/v1/ttp/files/{name}"): TTP,
    ("POST", "/api/v1/ttp/linkages"): TTP,
    ("GET", "/api/v1/ttp/review-pairs"): TTP,
    ("POST", "/api/v1/ttp/review-pairs/{pair_id}/decision"): TTP,
    ("POST", "/ttp/review/{pair_id}/decision"): TTP,
    ("POST", "/api/v1/applications"): REUSERS,
    ("GET", "/api/v1/applications"): SIGNED_IN,
    ("GET", "/api/v1/applications/queue"): AUTHORITY,
    ("GET", "/api/v1/applications/{application_id}"): SIGNED_IN,
    ("PUT", "/api/v1/applications/{application_id}/form"): SIGNED_IN,
    ("POST", "/api/v1/applications/{application_id}/commands"): SIGNED_IN,
    ("GET", "/api/v1/applications/{application_id}/events"): SIGNED_IN,
    ("GET", "/api/v1/applications/{application_id}/completeness"): SIGNED_IN,
    ("GET", "/api/v1/applications/{application_id}/criteria"): AUTHORITY,
    ("POST", "/api/v1/applications/{application_id}/attachments"): SIGNED_IN,
    (
        "GET",
        "/api/v1/applications/{application_id}/attachments/{attachment_id}",
    ): SIGNED_IN,
    ("GET", "/api/v1/permits"): SIGNED_IN,
    ("GET", "/api/v1/permits/{permit_id}"): SIGNED_IN,
    ("POST", "/api/v1/permits/{permit_id}/revoke"): frozenset({Role.decider}),
    ("GET", "/api/v1/passport"): SIGNED_IN,
    ("GET", "/api/v1/notifications"): SIGNED_IN,
    ("POST", "/api/v1/notifications/{notification_id}/read"): SIGNED_IN,
    ("GET", "/api/v1/datasets/{dataset_id}/source"): STEWARDS,
    ("PUT", "/api/v1/datasets/{dataset_id}/source"): STEWARDS,
    ("GET", "/api/v1/spe/workspaces"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{name}"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{name}/tables/{table}/dummy"): SIGNED_IN,
    ("POST", "/api/v1/spe/workspaces/{name}/queries"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{name}/queries"): SIGNED_IN,
    ("POST", "/api/v1/spe/workspaces/{name}/preparation"): TTP,
    ("POST", "/api/v1/spe/workspaces/{name}/jobs"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{name}/jobs"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{name}/jobs/{job_id}"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{name}/outputs"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{name}/preparation"): SIGNED_IN,
    ("POST", "/api/v1/spe/workspaces/{workspace}/release-requests"): SIGNED_IN,
    ("GET", "/api/v1/spe/workspaces/{workspace}/release-requests"): SIGNED_IN,
    ("GET", f"{RELEASES}/queue"): CHECKERS,
    ("GET", f"{RELEASES}/{{request_id}}"): SIGNED_IN,
    ("POST", f"{RELEASES}/{{request_id}}/files"): SIGNED_IN,
    ("DELETE", f"{RELEASES}/{{request_id}}/files/{{file_id}}"): SIGNED_IN,
    ("POST", f"{RELEASES}/{{request_id}}/submission"): SIGNED_IN,
    ("POST", f"{RELEASES}/{{request_id}}/withdrawal"): SIGNED_IN,
    ("POST", f"{RELEASES}/{{request_id}}/reviews"): CHECKERS,
    ("GET", f"{RELEASES}/{{request_id}}/files/{{file_id}}/inspection"): CHECKERS,
    ("GET", f"{RELEASES}/{{request_id}}/files/{{file_id}}/download"): SIGNED_IN,
    ("GET", "/api/v1/permits/{reference}/archive"): ANYONE,
    ("GET", "/workspaces"): SIGNED_IN,
    ("GET", "/workspaces/{name}"): SIGNED_IN,
    ("GET", "/workspaces/{name}/tables/{table}/dummy"): SIGNED_IN,
    ("POST", "/workspaces/{name}/queries"): SIGNED_IN,
    ("POST", "/workspaces/{name}/jobs"): SIGNED_IN,
    ("GET", "/workspaces/{name}/jobs/{job_id}"): SIGNED_IN,
    ("GET", "/workspaces/{name}/jobs/{job_id}/status"): SIGNED_IN,
    ("GET", "/workspaces/{name}/releases"): SIGNED_IN,
    ("POST", "/workspaces/{name}/releases"): SIGNED_IN,
    ("GET", "/releases/{request_id}"): SIGNED_IN,
    ("POST", "/releases/{request_id}/files"): SIGNED_IN,
    ("POST", "/releases/{request_id}/files/{file_id}/removal"): SIGNED_IN,
    ("POST", "/releases/{request_id}/submission"): SIGNED_IN,
    ("POST", "/releases/{request_id}/withdrawal"): SIGNED_IN,
    ("POST", "/releases/{request_id}/reviews"): CHECKERS,
    ("GET", "/releases/{request_id}/files/{file_id}/download"): SIGNED_IN,
    ("GET", "/releases/{request_id}/files/{file_id}/inspection"): CHECKERS,
    ("GET", "/checking"): CHECKERS,
    ("GET", "/permits/{reference}/archive"): ANYONE,
}

# Values for path parameters: ids that point at nothing, so an allowed request ends in 404
# or 422 and changes nothing.
PATH_VALUES = {
    "person_id": "999999",
    "token_id": "999999",
    "job_id": "nope",
    "role": "reuser",
    "code": "fr",
    "name": "nowhere",
    "dataset_id": "nope",
    "service_id": "nope",
    "series_id": "nope",
    "number": "1",
    "extension": "ttl",
    "source_id": "999999",
    "action": "package_show",
    "product_id": "999999",
    "slug": "nowhere",
    "application_id": "999999",
    "attachment_id": "999999",
    "permit_id": "999999",
    "notification_id": "999999",
    "domain": "sector:nowhere",
    "request_id": "999999",
    "pair_id": "999999",
    "workspace": "nowhere",
    "table": "nope",
    "file_id": "999999",
    "reference": "PRM-NOPE",
}


def app_routes(app) -> list[tuple[str, str, object]]:
    """(method, path, route) for every API route, through included routers too."""
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            for method in sorted((context.methods or set()) - {"HEAD"}):
                found.append((method, context.path, context))
    return found


def actions_of(route) -> set[str]:
    actions, stack = set(), [route.original_route.dependant]
    while stack:
        dependant = stack.pop()
        if hasattr(dependant.call, "action"):
            actions.add(dependant.call.action)
        stack.extend(dependant.dependencies)
    return actions


def test_every_route_has_a_row_in_the_table_and_an_action(app):
    routes = {(m, p) for m, p, _ in app_routes(app)}
    assert routes - EXPECTED.keys() == set(), "routes without a policy row"
    assert EXPECTED.keys() - routes == set(), "rows for routes that do not exist"
    for method, path, route in app_routes(app):
        assert len(actions_of(route)) == 1, (
            f"{method} {path} must state one policy action"
        )


def allowed_for(expected: object, role: Role | None) -> bool:
    if expected == ANYONE:
        return True
    if role is None:
        return False
    if expected == SIGNED_IN:
        return True
    return role in expected  # type: ignore[operator]


@pytest.fixture
def people_by_role(committed):
    def make(session):
        org = organisation(session, "walk-org")
        return {
            role: person_with_token(
                session,
                f"{role.value}@walk.lu",
                roles=(
                    (
                        role,
                        None
                        if role in (Role.admin, Role.auditor, Role.citizen)
                        else org.id,
                    ),
                ),
            )
            for role in Role
        }

    return committed(make)


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def csrf_of(client: TestClient) -> str:
    page = client.get("/sign-in")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def call(client: TestClient, method: str, path: str, token: str | None):
    url = fill(path)
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {} if method in ("POST", "PUT", "PATCH") else None
        return client.request(
            method, url, headers=headers, json=body, follow_redirects=False
        )
    if method == "GET":
        return client.get(url, follow_redirects=False)
    return client.request(
        method, url, data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )


@pytest.mark.parametrize(
    "role", [None, *Role], ids=lambda r: r.value if r else "anonymous"
)
def test_each_role_gets_the_answer_the_table_gives(app, people_by_role, role):
    with TestClient(app) as client:
        token = None
        if role is not None:
            who = people_by_role[role]
            token = who.token
            signed = client.post(
                "/sign-in",
                data={
                    "email": who.email,
                    "password": PASSWORD,
                    "csrf_token": csrf_of(client),
                },
                follow_redirects=False,
            )
            assert signed.status_code == 303
        wrong = []
        for method, path, _ in app_routes(app):
            if (method, path) == ("POST", "/sign-out"):
                continue  # would end the session for the routes after it
            response = call(client, method, path, token)
            allowed = allowed_for(EXPECTED[(method, path)], role)
            # A failed sign-in answers 401 with the form: wrong credentials, not a refusal.
            bad_sign_in = path == "/sign-in" and 'id="sign-in-error"' in response.text
            refused = response.status_code in (401, 403) and not bad_sign_in
            if allowed == refused:
                wrong.append(f"{method} {path}: {response.status_code}")
            if refused and role is None:
                assert response.status_code == 401, f"{method} {path}"
        assert wrong == []
