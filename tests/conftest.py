"""Fixtures shared by every test: a fresh database per test, the runtime, the app, actors.

The database is SQLite unless DATAFACTORY_TEST_DATABASE_URL points at PostgreSQL; CI runs the
whole suite once each way. Every test gets a database of its own, built by the real
migrations: a copy of a migrated SQLite file, or a fresh PostgreSQL schema
(``tests/support/pg_schemas.py``: the migrations' statements replayed, made ahead).
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session

from datafactory import migrations
from datafactory.core.config import Settings
from datafactory.core.db import make_engine, unit_of_work
from datafactory.permits.credentials import load_or_create_permit_key
from datafactory.runtime import Runtime
from datafactory.web.app import create_app
from tests.support.pg_schemas import SchemaSupply, schema_url

# CI shares two cores with other work: a property test is judged on what it finds, never on
# how fast the machine happened to generate or run an example.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")

PG_URL = os.environ.get("DATAFACTORY_TEST_DATABASE_URL")
BACKEND = "postgresql" if PG_URL else "sqlite"
TEST_SECRET = "test-session-key-that-is-long-enough-0123456789"


def pytest_report_header() -> str:
    return f"datafactory database backend: {BACKEND}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrations.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[SchemaSupply]:
    assert PG_URL is not None
    supply = SchemaSupply(PG_URL)
    yield supply
    supply.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if PG_URL is None:
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "datafactory.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    supply: SchemaSupply = request.getfixturevalue("pg_schemas")
    schema = supply.take()
    yield schema_url(PG_URL, schema)
    supply.give_back(schema)


@pytest.fixture(scope="session")
def permit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RSA key for the whole run: making a 3072-bit key takes a good part of a second."""
    path = tmp_path_factory.mktemp("keys") / "permit-rsa.pem"
    load_or_create_permit_key(path)
    return path


@pytest.fixture
def settings(tmp_path: Path, database_url: str, permit_key_file: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        permit_key_file=permit_key_file,
        secret_key=TEST_SECRET,
        queue="immediate",
        log_level="WARNING",
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime(settings)
    yield runtime
    runtime.dispose()


@pytest.fixture
def db(runtime: Runtime) -> Iterator[Session]:
    """A session for arranging and inspecting; the test commits when it needs to."""
    session = runtime.sessions()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app(runtime=runtime)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def committed(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Run ``fn(session)`` in its own committed transaction and return what it returns."""

    def run(fn):  # type: ignore[no-untyped-def]
        with unit_of_work(runtime.sessions) as session:
            return fn(session)

    return run


@pytest.fixture(autouse=True)
def global_random_untouched() -> Iterator[None]:
    """Randomness must come from seeded generators, never the global one (ehrQL)."""
    state = random.getstate()
    yield
    assert random.getstate() == state, (
        "a test or the code under test used global random"
    )
