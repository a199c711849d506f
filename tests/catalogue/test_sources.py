"""Where protected data lives: registered by the publisher's data stewards, ledgered
without the location, never shown to anyone else, and read only from where the platform
allows (the file store, the holders folder, a configured database connection)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from datafactory.catalogue.sources import (
    DataSource,
    DataSourceIn,
    SourceAccess,
    get_source,
    read_source,
    set_source,
    source_columns,
)
from datafactory.core.errors import (
    ConfigurationError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from tests.factories import organisation, person
from tests.spe.holders import REGISTER, dictionary_dataset, make_extracts, write_holders
from tests.support.schema import differences


@pytest.fixture
def world(committed, tmp_path):
    def build(session):
        statec = organisation(session, "statec").id
        cns = organisation(session, "cns").id
        dictionary_dataset(session, "register", statec, REGISTER)
        return {
            "steward": person(
                session, "s@statec.lu", roles=((Role.data_steward, statec),)
            ),
            "other": person(session, "s@cns.lu", roles=((Role.data_steward, cns),)),
            "admin": person(session, "a@df.lu", roles=((Role.catalogue_admin, None),)),
            "reuser": person(session, "r@uni.lu", roles=((Role.reuser, None),)),
        }

    people = committed(build)
    return {k: Actor.for_person(v) for k, v in people.items()}


def parquet_source(location="/data/holders/statec/register.parquet", **more):
    return DataSourceIn(
        kind="parquet",
        location=location,
        table_name="person",
        person_column="matricule",
        **more,
    )


def test_a_steward_registers_and_replaces_a_source(db, world):
    first = set_source(
        db, world["steward"], dataset_id="register", source=parquet_source()
    )
    assert first.registered_by == world["steward"].ref
    set_source(
        db,
        world["admin"],
        dataset_id="register",
        source=DataSourceIn(
            kind="sql",
            location="rnpp.residents",
            connection="statec",
            table_name="person",
            person_column="matricule",
        ),
    )
    found = get_source(db, world["steward"], dataset_id="register")
    assert (found.kind, found.location, found.connection) == (
        "sql",
        "rnpp.residents",
        "statec",
    )
    entries = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "catalogue.source.registered")
    ).all()
    assert [json.loads(e.details)["replaced"] for e in entries] == [False, True]
    # The ledger identifies the location without spelling it out.
    assert all("/data/holders" not in e.details for e in entries)
    assert all("rnpp" not in e.details for e in entries)


def test_nobody_else_registers_or_reads_a_source(db, world):
    set_source(db, world["steward"], dataset_id="register", source=parquet_source())
    for who in ("other", "reuser"):
        with pytest.raises(Forbidden):
            get_source(db, world[who], dataset_id="register")
        with pytest.raises(Forbidden):
            set_source(db, world[who], dataset_id="register", source=parquet_source())
    with pytest.raises(Unauthenticated):
        get_source(db, Actor.anonymous(), dataset_id="register")
    with pytest.raises(NotFound):
        get_source(db, world["steward"], dataset_id="nothing")


def test_an_unregistered_source_is_not_found(db, world):
    with pytest.raises(NotFound):
        get_source(db, world["steward"], dataset_id="register")


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "sql", "location": "people", "table_name": "person"},
        {"kind": "sql", "location": "a;drop", "connection": "x", "table_name": "p"},
        {"kind": "csv", "location": "/data/../etc/passwd.csv", "table_name": "p"},
        {"kind": "csv", "location": "holders/claims.parquet", "table_name": "p"},
        {"kind": "parquet", "location": "../up.parquet", "table_name": "p"},
        {
            "kind": "parquet",
            "location": "a.parquet",
            "connection": "x",
            "table_name": "p",
        },
        {"kind": "parquet", "location": "a.parquet", "table_name": "Person"},
    ],
    ids=[
        "sql-without-connection",
        "sql-bad-table",
        "path-with-dots",
        "suffix-not-kind",
        "bad-key",
        "file-with-connection",
        "upper-case-table",
    ],
)
def test_an_ill_formed_source_is_refused(fields):
    with pytest.raises((ValidationError, InvalidInput)):
        DataSourceIn(**fields)


def _source(**fields):
    return DataSource(dataset_id="register", **fields)


def test_sources_are_read_from_the_holders_folder_store_and_databases(tmp_path):
    extracts = make_extracts()
    files = write_holders(tmp_path / "holders", extracts)
    access = SourceAccess(
        holders_dir=tmp_path / "holders", sql_connections={"adem": files["sql_url"]}
    )
    register = _source(kind="parquet", location=str(files["register"]))
    assert "first_name" in source_columns(register, access)
    read = read_source(register, access, ["birth_year", "matricule"])
    assert read.column_names == ["birth_year", "matricule"]
    claims = _source(kind="csv", location=str(files["claims"]))
    assert (
        read_source(claims, access, ["year"]).schema.field("year").type == pa.string()
    )
    employment = _source(kind="sql", location="employment", connection="adem")
    assert source_columns(employment, access) == ["matricule", "status", "spell_start"]
    assert read_source(employment, access, ["status"]).num_rows == (
        extracts.employment.num_rows
    )


def test_a_file_outside_the_holders_folder_is_refused(tmp_path):
    files = write_holders(tmp_path / "holders", make_extracts())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "holders" / "escape.parquet"
    target = elsewhere / "secret.parquet"
    target.write_bytes(files["register"].read_bytes())
    link.symlink_to(target)
    access = SourceAccess(holders_dir=tmp_path / "holders")
    for location in (str(target), str(link)):
        with pytest.raises(InvalidInput, match="outside the holders folder"):
            read_source(_source(kind="parquet", location=location), access, ["sex"])
    with pytest.raises(ConfigurationError, match="no holders folder"):
        read_source(
            _source(kind="parquet", location=str(files["register"])),
            SourceAccess(),
            ["sex"],
        )


def test_a_database_error_never_shows_the_connection_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing' / 'secret-password.sqlite3'}"
    access = SourceAccess(sql_connections={"adem": url})
    with pytest.raises(ConfigurationError) as caught:
        source_columns(_source(kind="sql", location="t", connection="adem"), access)
    assert "secret-password" not in caught.value.detail
    with pytest.raises(ConfigurationError, match="not configured"):
        source_columns(
            _source(kind="sql", location="t", connection="other"), SourceAccess()
        )


def test_the_model_matches_its_migration(runtime):
    assert differences(runtime.engine, {"catalogue_data_sources"}) == []


# --- the API and the CLI --------------------------------------------------------------


@pytest.fixture
def api(runtime):
    from fastapi.testclient import TestClient

    from datafactory.web.api import sources as sources_api
    from datafactory.web.app import create_app

    app = create_app(runtime=runtime)
    if not any(getattr(r, "path", "").endswith("/source") for r in app.routes):
        app.include_router(sources_api.router)  # until the app mounts it
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _token(committed, email, role, organisation_slug=None):
    from tests.factories import person_with_token

    def make(session):
        from datafactory.identity.models import Organisation

        org = None
        if organisation_slug:
            org = session.scalar(
                select(Organisation.id).where(Organisation.slug == organisation_slug)
            )
        return person_with_token(session, email, roles=((role, org),)).token

    return {"Authorization": f"Bearer {committed(make)}"}


def test_the_api_registers_and_shows_a_source_to_stewards_only(api, committed, world):
    steward = _token(committed, "api@statec.lu", Role.data_steward, "statec")
    body = {
        "kind": "csv",
        "location": "holders/cns/claims.csv",
        "table_name": "claim",
        "person_column": "matricule",
    }
    answer = api.put("/api/v1/datasets/register/source", json=body, headers=steward)
    assert answer.status_code == 200, answer.text
    assert answer.json()["registered_by"].startswith("person:")
    shown = api.get("/api/v1/datasets/register/source", headers=steward)
    assert shown.json()["location"] == "holders/cns/claims.csv"
    assert api.get("/api/v1/datasets/register/source").status_code == 401
    reuser = _token(committed, "api@uni.lu", Role.reuser)
    assert (
        api.get("/api/v1/datasets/register/source", headers=reuser).status_code == 403
    )
    other = _token(committed, "api@cns.lu", Role.data_steward, "cns")
    assert api.get("/api/v1/datasets/register/source", headers=other).status_code == 403
    bad = {**body, "kind": "sql"}
    refused = api.put("/api/v1/datasets/register/source", json=bad, headers=steward)
    assert refused.status_code == 422


def test_the_cli_sets_and_shows_a_source(monkeypatch, database_url, tmp_path, world):
    from typer.testing import CliRunner

    from datafactory.cli import sources as sources_cli

    monkeypatch.setenv("DATAFACTORY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATAFACTORY_DATABASE_URL", database_url)
    monkeypatch.setenv("DATAFACTORY_SECRET_KEY", "cli-test-secret-key-long-enough-000")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    done = runner.invoke(
        sources_cli.app,
        [
            "set",
            "register",
            "--kind",
            "sql",
            "--location",
            "rnpp.residents",
            "--connection",
            "statec",
            "--table",
            "person",
            "--person-column",
            "matricule",
            "--as",
            "s@statec.lu",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "becomes the workspace table person" in done.output
    shown = runner.invoke(sources_cli.app, ["show", "register"])
    assert shown.exit_code == 0, shown.output
    assert "rnpp.residents" in shown.output
    refused = runner.invoke(sources_cli.app, ["show", "register", "--as", "r@uni.lu"])
    assert isinstance(refused.exception, Forbidden)
