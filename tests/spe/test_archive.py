"""The public archive and the results product: the first approved release of a permit
archives the code behind its outputs (once per SHA-256) and registers the results in the
catalogue once, linked to the permit's datasets and the permit; later releases add only
new code. Also the airlock's API end to end, and the public archive as JSON."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from datafactory.catalogue.products.models import DataProduct, DataProductDataset
from datafactory.core import ledger
from datafactory.core.errors import NotFound
from datafactory.core.ledger import LedgerEntry
from datafactory.identity import policy, tokens
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person
from datafactory.permits.models import Permit
from datafactory.spe.airlock import archive, requests
from datafactory.spe.airlock.models import (
    ArchivedCode,
    Decision,
    PermitResults,
    RequestStatus,
)
from datafactory.web.api import airlock as airlock_api
from datafactory.web.app import create_app
from tests.spe.test_airlock import (
    SAFE_TABLE,
    SCRIPT,
    SQL,
    World,
    build,
    decide,
    draft,
    regression,
    save,
    spe_config,
)
from tests.ttp.world import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def config(runtime, tmp_path, clock):
    return spe_config(runtime, tmp_path, clock)


@pytest.fixture
def world(db, config, clock) -> World:
    return build(db, config, clock)


def approve(db, world: World, *outputs) -> int:
    made = draft(db, world, *outputs)
    requests.submit(db, world.actor(world.author), world.config, request_id=made.id)
    decide(db, world, world.checker1, made.id, Decision.approve)
    decide(db, world, world.checker2, made.id, Decision.approve)
    assert made.status == RequestStatus.approved
    return made.id


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_the_first_release_archives_its_code_and_registers_the_results_once(db, world):
    table = save(
        db, world, "cases.csv", "table", SAFE_TABLE, origin="query:7", code=SQL
    )
    model = save(db, world, "model.txt", "regression", regression(50))
    same_code = save(
        db, world, "cases2.csv", "table", SAFE_TABLE, origin="query:8", code=SQL
    )
    first = approve(db, world, table, model, same_code)

    found = archive.permit_archive(db, world.permit.reference)
    assert [(e.name, e.kind) for e in found.entries] == [
        ("query-7.sql", "sql"),
        ("job-1.py", "script"),
    ]
    for entry, code in zip(found.entries, (SQL, SCRIPT), strict=True):
        assert entry.text == code
        assert entry.sha256 == hashlib.sha256(code.encode()).hexdigest()

    results = db.get(PermitResults, world.permit.id)
    assert results is not None and results.request_id == first
    assert found.product_id == results.product_id
    product = db.get(DataProduct, results.product_id)
    assert product is not None
    assert product.type == "result"
    assert product.link == "https://data.example.lu/permits/PRM-2026-00042/archive"
    assert product.authors == "University of Luxembourg"
    assert "PRM-2026-00042" in product.title
    assert list(
        db.scalars(
            select(DataProductDataset.dataset_id).where(
                DataProductDataset.product_id == product.id
            )
        )
    ) == [world.dataset_id]
    permit = db.get(Permit, world.permit.id)
    assert permit is not None and permit.results_url == product.link

    # A later release adds only code not archived before, and no second product.
    again = save(
        db, world, "again.csv", "table", SAFE_TABLE, origin="query:9", code=SQL
    )
    new = save(
        db, world, "new.csv", "table", SAFE_TABLE, origin="query:10", code=SQL + " "
    )
    approve(db, world, again, new)
    assert [
        e.name for e in archive.permit_archive(db, world.permit.reference).entries
    ] == [
        "query-7.sql",
        "job-1.py",
        "query-10.sql",
    ]
    assert count(db, ArchivedCode) == 3
    assert count(db, PermitResults) == count(db, DataProduct) == 1

    archived = list(
        db.scalars(
            select(LedgerEntry.action).where(
                LedgerEntry.action.in_(
                    [
                        "spe.archive.code_archived",
                        "spe.archive.results_registered",
                        "catalogue.product.registered",
                    ]
                )
            )
        )
    )
    assert sorted(archived) == [
        "catalogue.product.registered",
        "spe.archive.code_archived",
        "spe.archive.code_archived",
        "spe.archive.results_registered",
    ]
    assert ledger.verify(db).ok


def test_a_holders_own_results_address_is_kept(db, world):
    world.permit.results_url = "https://doi.org/10.1234/paper"
    db.flush()
    approve(db, world, save(db, world, "cases.csv", "table", SAFE_TABLE))
    assert world.permit.results_url == "https://doi.org/10.1234/paper"
    assert count(db, PermitResults) == 1


def test_only_approved_releases_reach_the_archive(db, world):
    made = draft(db, world, save(db, world, "cases.csv", "table", SAFE_TABLE))
    requests.submit(db, world.actor(world.author), world.config, request_id=made.id)
    decide(db, world, world.checker1, made.id, Decision.approve)
    with pytest.raises(NotFound):
        archive.permit_archive(db, world.permit.reference)
    decide(db, world, world.checker2, made.id, Decision.reject, "No.")
    with pytest.raises(NotFound):
        archive.permit_archive(db, world.permit.reference)
    assert count(db, PermitResults) == 0


def test_an_unknown_permit_and_an_empty_archive_read_the_same(db, world):
    with pytest.raises(NotFound) as unknown:
        archive.permit_archive(db, "PRM-1999-00001")
    with pytest.raises(NotFound) as empty:
        archive.permit_archive(db, world.permit.reference)
    assert str(unknown.value).replace("PRM-1999-00001", "X") == str(
        empty.value
    ).replace(world.permit.reference, "X")


# --- the API -----------------------------------------------------------------------------


def token(session, who: Person) -> dict[str, str]:
    issued = tokens.create_token(
        session,
        Actor.for_person(who),
        name="test",
        scopes=policy.token_scopes(),
        days=30,
        max_days=365,
    )
    return {"Authorization": f"Bearer {issued.secret}"}


@pytest.fixture
def api(runtime, committed, config, clock):
    def arrange(session):
        world = build(session, config, clock)
        table = save(
            session, world, "cases.csv", "table", SAFE_TABLE, origin="query:3", code=SQL
        )
        heads = {
            name: token(session, who)
            for name, who in {
                "author": world.author,
                "checker1": world.checker1,
                "checker2": world.checker2,
                "outsider": world.outsider,
            }.items()
        }
        return world, table.id, heads

    world, table_id, heads = committed(arrange)
    app = create_app(runtime=runtime)
    if not any(
        getattr(r, "path", "") == "/api/v1/permits/{reference}/archive"
        for r in app.routes
    ):
        app.include_router(airlock_api.router)
    app.dependency_overrides[airlock_api.config_of] = lambda: config
    with TestClient(app, base_url="http://testserver") as client:
        yield client, world, table_id, heads


def test_the_api_walks_a_request_to_its_public_archive(api):
    client, world, table_id, heads = api
    base = "/api/v1/spe/release-requests"
    made = client.post(
        f"/api/v1/spe/workspaces/{world.workspace.name}/release-requests",
        json={"title": "Cases by sex", "description": "Table 1."},
        headers=heads["author"],
    )
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    added = client.post(
        f"{base}/{request_id}/files",
        json={"output_id": table_id},
        headers=heads["author"],
    )
    assert added.status_code == 201, added.text
    file_id = added.json()["files"][0]["id"]
    assert (
        client.post(f"{base}/{request_id}/submission", headers=heads["author"]).json()[
            "status"
        ]
        == "submitted"
    )

    outsider = client.get(f"{base}/{request_id}", headers=heads["outsider"])
    assert outsider.status_code == 404
    assert outsider.headers["content-type"].startswith("application/problem+json")
    queue = client.get(f"{base}/queue", headers=heads["checker1"])
    assert [r["id"] for r in queue.json()] == [request_id]
    assert client.get(f"{base}/queue", headers=heads["author"]).status_code == 403

    first = client.post(
        f"{base}/{request_id}/reviews",
        json={"decision": "approve", "comment": "Fine."},
        headers=heads["checker1"],
    )
    assert first.status_code == 201, first.text
    assert [r["comment"] for r in first.json()["reviews"]] == ["Fine."]
    blinded = client.get(f"{base}/{request_id}", headers=heads["checker2"]).json()
    assert blinded["reviews"] == [] and blinded["reviews_this_round"] == 1
    early = client.get(
        f"{base}/{request_id}/files/{file_id}/download", headers=heads["author"]
    )
    assert early.status_code == 403
    second = client.post(
        f"{base}/{request_id}/reviews",
        json={"decision": "approve"},
        headers=heads["checker2"],
    )
    assert second.json()["status"] == "approved"

    got = client.get(
        f"{base}/{request_id}/files/{file_id}/download", headers=heads["author"]
    )
    assert got.status_code == 200
    assert got.content == SAFE_TABLE
    assert got.headers["x-content-sha256"] == hashlib.sha256(SAFE_TABLE).hexdigest()
    assert "attachment" in got.headers["content-disposition"]
    assert (
        client.get(
            f"{base}/{request_id}/files/{file_id}/download", headers=heads["outsider"]
        ).status_code
        == 404
    )

    public = client.get(f"/api/v1/permits/{world.permit.reference}/archive")
    assert public.status_code == 200
    body = public.json()
    assert body["permit"] == world.permit.reference
    assert body["entries"][0]["sha256"] == hashlib.sha256(SQL.encode()).hexdigest()
    assert body["entries"][0]["text"] == SQL
    assert client.get("/api/v1/permits/PRM-1999-00001/archive").status_code == 404
