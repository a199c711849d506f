"""The SPE's API on the real app: workspaces, dummy data, the query gate (answers and
problem+json refusals that are still recorded), jobs and outputs, members only."""

from __future__ import annotations

import io
import shutil

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from datafactory.identity import tokens
from datafactory.identity.models import Person
from datafactory.spe.queries.models import WorkspaceQuery
from tests.spe.gate_world import PEOPLE, GateWorld, build_gate_world

BASE = "/api/v1/spe/workspaces"


@pytest.fixture
def world(committed, runtime, tmp_path) -> GateWorld:
    return build_gate_world(committed, runtime, tmp_path, spe=runtime.spe)


def token_of(committed, person_id: int) -> dict[str, str]:
    def issue(session):
        person = session.get(Person, person_id)
        from datafactory.identity.actor import Actor

        return tokens.create_token(
            session,
            Actor.for_person(person),
            name="api",
            scopes=["spe"],
            days=1,
            max_days=30,
        ).secret

    return {"Authorization": f"Bearer {committed(issue)}"}


@pytest.fixture
def member(committed, world):
    return token_of(committed, world.member.person_id)


@pytest.fixture
def stranger(committed, world):
    return token_of(committed, world.stranger.person_id)


def test_a_member_sees_the_workspace_and_its_tables(client, member, world):
    listed = client.get(BASE, headers=member).json()
    assert [w["name"] for w in listed] == ["study"]
    detail = client.get(f"{BASE}/study", headers=member).json()
    tables = {t["name"]: t for t in detail["tables"]}
    assert tables["person"]["rows"] == PEOPLE
    columns = {c["name"]: c["sensitivity"] for c in tables["person"]["columns"]}
    assert columns["pseudonym"] == "direct_identifier"


def test_dummy_data_downloads_without_a_real_value(client, member, world):
    csv = client.get(f"{BASE}/study/tables/person/dummy", headers=member)
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "dummy-" in csv.text and "p0001" not in csv.text
    parquet = client.get(
        f"{BASE}/study/tables/claim/dummy",
        params={"format": "parquet", "rows": 50},
        headers=member,
    )
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 50
    assert "care_type" in table.column_names


def test_a_query_is_answered_and_kept_as_an_output(client, member, world):
    answer = client.post(
        f"{BASE}/study/queries",
        json={
            "sql": "SELECT sex, COUNT(*) AS people FROM person GROUP BY sex",
            "save_as": "by-sex",
        },
        headers=member,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["columns"] == ["sex", "people"]
    assert sorted(body["rows"]) == [["F", PEOPLE // 2], ["M", PEOPLE // 2]]
    outputs = client.get(f"{BASE}/study/outputs", headers=member).json()
    assert {o["name"] for o in outputs} == {"by-sex.csv", "by-sex.sdc.json"}
    assert all(o["origin"] == f"query:{body['query_id']}" for o in outputs)


def test_a_refusal_is_problem_json_and_is_recorded(client, member, db, world):
    refused = client.post(
        f"{BASE}/study/queries",
        json={"sql": "SELECT * FROM person"},
        headers=member,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["reasons"] and "SELECT *" in " ".join(problem["reasons"])
    record = db.scalar(
        select(WorkspaceQuery).where(WorkspaceQuery.id == problem["query_id"])
    )
    assert record is not None and record.outcome == "refused"
    history = client.get(f"{BASE}/study/queries", headers=member).json()
    assert history[0]["outcome"] == "refused"


def test_a_stranger_sees_nothing(client, stranger, world):
    assert client.get(BASE, headers=stranger).json() == []
    assert client.get(f"{BASE}/study", headers=stranger).status_code == 404
    asked = client.post(
        f"{BASE}/study/queries",
        json={"sql": "SELECT COUNT(*) AS n FROM person"},
        headers=stranger,
    )
    assert asked.status_code == 403
    assert client.get(f"{BASE}/study/outputs", headers=stranger).status_code == 403


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_job_runs_in_the_sandbox_and_its_logs_are_the_members(client, member, world):
    submitted = client.post(
        f"{BASE}/study/jobs",
        json={
            "name": "ages",
            "script": (
                "import pandas as pd\n"
                "people = pd.read_parquet('/workspace/data/person.parquet')\n"
                "print(len(people))\n"
                "people.groupby('sex').size().to_csv('/workspace/output/by_sex.csv')\n"
            ),
        },
        headers=member,
    )
    assert submitted.status_code == 202, submitted.text
    job = client.get(
        f"{BASE}/study/jobs/{submitted.json()['id']}", headers=member
    ).json()
    assert job["status"] == "succeeded", job
    assert job["stdout"].strip() == str(PEOPLE)
    outputs = client.get(f"{BASE}/study/outputs", headers=member).json()
    assert [o["name"] for o in outputs] == ["by_sex.csv"]
