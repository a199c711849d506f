"""Identifier matching through the API: a TTP operator puts two holders' files, starts a
linkage job, follows it, and decides the clerical review queue."""

from __future__ import annotations

import pytest

from datafactory.identity.models import Role
from datafactory.ttp import linkage
from tests.factories import organisation, person_with_token
from tests.ttp.test_linkage import COLUMNS, write_febrl


@pytest.fixture
def operator(committed) -> dict[str, str]:
    def make(session):
        org = organisation(session, "ipms")
        who = person_with_token(
            session, "alice@ipms.lu", roles=((Role.ttp_operator, org.id),)
        )
        return {"Authorization": f"Bearer {who.token}"}

    return committed(make)


def test_an_operator_links_two_files_through_the_api(client, operator, tmp_path):
    created = client.post(
        "/api/v1/ttp/domains", json={"name": "sector:health"}, headers=operator
    )
    assert created.status_code == 201, created.text
    left, right = write_febrl(tmp_path / "holders", matched=150, others=50)
    for path in (left, right):
        put = client.put(
            f"/api/v1/ttp/files/{path.name}",
            content=path.read_bytes(),
            headers={**operator, "Content-Type": "text/csv"},
        )
        assert put.status_code == 201, put.text
    columns = {
        field.value: list(cols)
        for field, cols in linkage.parse_columns(COLUMNS).items()
    }
    started = client.post(
        "/api/v1/ttp/linkages",
        json={
            "domain": "sector:health",
            "sources": [
                {
                    "file": left.name,
                    "label": "cns",
                    "columns": columns,
                    "key": "rec_id",
                },
                {
                    "file": right.name,
                    "label": "adem",
                    "columns": columns,
                    "key": "rec_id",
                },
            ],
        },
        headers=operator,
    )
    assert started.status_code == 202, started.text
    job = client.get(started.headers["location"], headers=operator).json()
    assert job["kind"] == "ttp.link" and job["status"] == "succeeded", job
    assert job["result"]["records"] == 150 + 150 + 50

    queue = client.get("/api/v1/ttp/review-pairs", headers=operator)
    assert queue.status_code == 200
    page = queue.json()
    assert page["total"] == len(page["items"]) or page["total"] > page["page_size"]
    for pair in page["items"][:1]:
        assert set(pair["left"]) <= {"first_name", "surname", "birth_year"}
        decided = client.post(
            f"/api/v1/ttp/review-pairs/{pair['id']}/decision",
            json={"accept": False},
            headers=operator,
        )
        assert decided.status_code == 200 and decided.json()["status"] == "rejected"
        again = client.post(
            f"/api/v1/ttp/review-pairs/{pair['id']}/decision",
            json={"accept": True},
            headers=operator,
        )
        assert again.status_code == 409


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("../escape.csv", b"a,b\n1,2\n", 404),
        ("notes.txt", b"a,b\n1,2\n", 422),
        ("empty.csv", b"", 422),
    ],
)
def test_bad_file_names_and_empty_files_are_refused(
    client, operator, name, body, status
):
    answer = client.put(f"/api/v1/ttp/files/{name}", content=body, headers=operator)
    assert answer.status_code == status


def test_a_linkage_of_a_file_never_put_is_refused_by_name(client, operator):
    answer = client.post(
        "/api/v1/ttp/linkages",
        json={
            "domain": "sector:health",
            "sources": [{"file": "missing.csv", "columns": {"surname": ["s"]}}],
        },
        headers=operator,
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "sources.0.file"
