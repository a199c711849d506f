"""The TTP's API for operators: domains, file pseudonymisation (the file is the body),
four-eyes re-identification and the citizen lookup; problem+json errors that never echo
an identifier."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from datafactory.identity.models import Person, Role
from tests.factories import organisation, person_with_token
from tests.ttp.world import (
    broken,
    ledger_entries,
    make_permit,
    matricules,
    ttp_app,
    ttp_config,
)

REASON = "Court order 2026/77 of the Luxembourg district court, art. 48-24 CPP"
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def config(tmp_path):
    return ttp_config(tmp_path)


@pytest.fixture
def client(runtime, config):
    with TestClient(ttp_app(runtime, config)) as test_client:
        yield test_client


@pytest.fixture
def tokens(committed):
    def make(session):
        org = organisation(session, "ipms")
        people = {
            name: person_with_token(
                session, f"{name}@ipms.lu", roles=((Role.ttp_operator, org.id),)
            )
            for name in ("alice", "bob")
        }
        people["rita"] = person_with_token(
            session, "rita@uni.lu", roles=((Role.reuser, org.id),)
        )
        holder = session.get_one(Person, people["alice"].person_id)
        make_permit(session, holder, "PRM-2026-00001")
        return {name: who.token for name, who in people.items()}

    return committed(make)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def people():
    return matricules(6, seed=5)


@pytest.fixture
def health(client, tokens):
    answer = client.post(
        "/api/v1/ttp/domains",
        json={"name": "sector:health"},
        headers=auth(tokens["alice"]),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def csv_of(rows: list[str]) -> bytes:
    return ("id,age\n" + "".join(f"{r},{i}\n" for i, r in enumerate(rows))).encode()


def test_domains_are_created_listed_rotated_and_retired(client, tokens, health):
    alice = auth(tokens["alice"])
    assert health["kind"] == "sector" and health["key_version"] == 1
    permit = client.post(
        "/api/v1/ttp/domains",
        json={"name": "", "permit_reference": "PRM-2026-00001"},
        headers=alice,
    ).json()
    assert (permit["name"], permit["permit_reference"]) == (
        "permit:PRM-2026-00001",
        "PRM-2026-00001",
    )
    listed = client.get("/api/v1/ttp/domains", headers=alice).json()
    assert [d["name"] for d in listed] == ["permit:PRM-2026-00001", "sector:health"]
    early = client.post("/api/v1/ttp/domains/sector:health/rotation", headers=alice)
    assert (
        early.status_code == 409
        and "rotate the master key first" in early.json()["detail"]
    )
    key = client.post(
        "/api/v1/ttp/keys/rotation", json={"expected_version": 1}, headers=alice
    )
    assert key.json() == {"version": 2}
    again = client.post(
        "/api/v1/ttp/keys/rotation", json={"expected_version": 1}, headers=alice
    )
    assert again.status_code == 409
    rotated = client.post("/api/v1/ttp/domains/sector:health/rotation", headers=alice)
    assert rotated.json()["key_versions"] == [1, 2]
    retired = client.post(
        "/api/v1/ttp/domains/sector:health/retirement",
        json={"reason": "register closed"},
        headers=alice,
    )
    assert retired.json()["status"] == "retired"
    unknown = client.post("/api/v1/ttp/domains/sector:nowhere/rotation", headers=alice)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


def test_a_csv_body_comes_back_pseudonymised(client, tokens, health, people):
    answer = client.post(
        "/api/v1/ttp/domains/sector:health/pseudonymisations",
        params={"column": "id", "filename": "claims.csv"},
        content=csv_of(people + [people[0]]),
        headers={**auth(tokens["alice"]), **CSV},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-rows"] == "7" and answer.headers["x-new-pseudonyms"] == "6"
    assert "pseudonymised-claims.csv" in answer.headers["content-disposition"]
    lines = answer.text.splitlines()
    assert lines[0] == '"id","age"'
    ids = [line.split(",")[0].strip('"') for line in lines[1:]]
    assert len(set(ids)) == 6 and ids[0] == ids[-1]
    assert not any(p in answer.text for p in people)


def test_a_parquet_body_can_come_back_as_parquet(client, tokens, health, people):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": people, "n": range(6)}), buffer)
    answer = client.post(
        "/api/v1/ttp/domains/sector:health/pseudonymisations",
        params={"column": "id"},
        content=buffer.getvalue(),
        headers={
            **auth(tokens["bob"]),
            "Content-Type": "application/vnd.apache.parquet",
        },
    )
    assert answer.status_code == 200, answer.text
    table = pq.read_table(io.BytesIO(answer.content))
    assert table.column("n").to_pylist() == list(range(6))
    assert not set(table.column("id").to_pylist()) & set(people)


def test_bad_identifiers_refuse_the_file_with_rows_and_no_values(
    client, tokens, health, people, config, db
):
    rows = list(people) + [people[0]]
    rows[2], rows[6] = broken(people[2]), "not a number"
    answer = client.post(
        "/api/v1/ttp/domains/sector:health/pseudonymisations",
        params={"column": "id", "filename": "claims.csv"},
        content=csv_of(rows),
        headers={**auth(tokens["alice"]), **CSV},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["invalid_rows"] == [3, 7] and problem["invalid"] == 2
    assert "rows 3, 7" in problem["detail"]
    for value in [*rows, "not a number"]:
        assert value not in answer.text
    assert [e.action for e in ledger_entries(db, "ttp.file")] == ["ttp.file.refused"]
    assert list(config.work_dir.iterdir()) == [], "the upload is gone"


def test_uploads_over_the_limit_and_of_other_types_are_refused(
    client, tokens, health, people, config, runtime
):
    small = dataclasses.replace(config, max_upload_bytes=64)
    from datafactory.web.api import ttp as ttp_api

    client.app.dependency_overrides[ttp_api.config_of] = lambda: small
    big = client.post(
        "/api/v1/ttp/domains/sector:health/pseudonymisations",
        params={"column": "id"},
        content=csv_of(people),
        headers={**auth(tokens["alice"]), **CSV},
    )
    assert big.status_code == 413
    typed = client.post(
        "/api/v1/ttp/domains/sector:health/pseudonymisations",
        params={"column": "id"},
        content=b"{}",
        headers={**auth(tokens["alice"]), "Content-Type": "application/json"},
    )
    assert typed.status_code == 422 and "text/csv" in typed.json()["detail"]
    assert list(small.work_dir.iterdir()) == []


def pseudonymise(client, token, numbers) -> list[str]:
    answer = client.post(
        "/api/v1/ttp/domains/sector:health/pseudonymisations",
        params={"column": "id"},
        content=csv_of(numbers),
        headers={**auth(token), **CSV},
    )
    return [row[0] for row in list(csv.reader(io.StringIO(answer.text)))[1:]]


def test_re_identification_needs_two_operators_and_reveals_once(
    client, tokens, health, people
):
    alice, bob = auth(tokens["alice"]), auth(tokens["bob"])
    pseudonym = pseudonymise(client, tokens["alice"], people[:1])[0]
    made = client.post(
        "/api/v1/ttp/reidentifications",
        json={
            "domain": "sector:health",
            "pseudonym": pseudonym,
            "legal_reason": REASON,
        },
        headers=alice,
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    pending = client.get("/api/v1/ttp/reidentifications", headers=bob).json()
    assert [r["id"] for r in pending] == [request_id]
    own = client.post(
        f"/api/v1/ttp/reidentifications/{request_id}/approval", headers=alice
    )
    assert own.status_code == 403 and "different TTP operator" in own.json()["detail"]
    early = client.post(
        f"/api/v1/ttp/reidentifications/{request_id}/reveal", headers=alice
    )
    assert early.status_code == 409
    approved = client.post(
        f"/api/v1/ttp/reidentifications/{request_id}/approval", headers=bob
    )
    assert approved.json()["status"] == "approved"
    not_bob = client.post(
        f"/api/v1/ttp/reidentifications/{request_id}/reveal", headers=bob
    )
    assert not_bob.status_code == 403
    shown = client.post(
        f"/api/v1/ttp/reidentifications/{request_id}/reveal", headers=alice
    )
    assert shown.json() == {"request_id": request_id, "identifier": people[0]}
    assert shown.headers["cache-control"] == "no-store"
    twice = client.post(
        f"/api/v1/ttp/reidentifications/{request_id}/reveal", headers=alice
    )
    assert twice.status_code == 409


def test_a_request_can_be_refused_with_a_reason(client, tokens, health, people):
    pseudonym = pseudonymise(client, tokens["alice"], people[1:2])[0]
    request_id = client.post(
        "/api/v1/ttp/reidentifications",
        json={
            "domain": "sector:health",
            "pseudonym": pseudonym,
            "legal_reason": REASON,
        },
        headers=auth(tokens["alice"]),
    ).json()["id"]
    refused = client.post(
        f"/api/v1/ttp/reidentifications/{request_id}/refusal",
        json={"reason": "the order does not name this project"},
        headers=auth(tokens["bob"]),
    )
    assert refused.json()["status"] == "refused"
    short = client.post(
        "/api/v1/ttp/reidentifications",
        json={"domain": "sector:health", "pseudonym": pseudonym, "legal_reason": "x"},
        headers=auth(tokens["alice"]),
    )
    assert short.status_code == 422
    assert [e["field"] for e in short.json()["errors"]] == ["legal_reason"]


def test_the_lookup_takes_the_number_in_the_body_and_shows_no_pseudonym(
    client, tokens, health, people
):
    made = pseudonymise(client, tokens["alice"], people[:2])
    found = client.post(
        "/api/v1/ttp/lookups",
        json={"matricule": people[0]},
        headers=auth(tokens["bob"]),
    )
    assert found.json() == [
        {
            "name": "sector:health",
            "kind": "sector",
            "status": "created",
            "permit_reference": None,
        }
    ]
    assert not any(p in found.text for p in made)
    nowhere = client.post(
        "/api/v1/ttp/lookups",
        json={"matricule": people[5]},
        headers=auth(tokens["bob"]),
    )
    assert nowhere.json() == []
    bad = client.post(
        "/api/v1/ttp/lookups",
        json={"matricule": broken(people[0])},
        headers=auth(tokens["bob"]),
    )
    assert bad.status_code == 422 and people[0][:8] not in bad.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/ttp/domains", None),
        ("POST", "/api/v1/ttp/domains", {"name": "sector:x"}),
        ("POST", "/api/v1/ttp/keys/rotation", {"expected_version": 1}),
        ("GET", "/api/v1/ttp/reidentifications", None),
        ("POST", "/api/v1/ttp/lookups", {"matricule": "1893120105732"}),
    ],
)
def test_nobody_else_gets_in(client, tokens, method, path, body):
    assert client.request(method, path, json=body).status_code == 401
    refused = client.request(method, path, json=body, headers=auth(tokens["rita"]))
    assert refused.status_code == 403
    assert json.loads(refused.text)["type"].endswith("/forbidden")
