"""What engines do beyond the language (tests/spec): the differencing scan, the limits and
the read-only connections."""

from __future__ import annotations

import sqlite3

import duckdb
import pyarrow as pa
import pytest

from datafactory.spe.config import EngineLimits
from datafactory.spe.engines.base import QueryEngine, QueryFailed
from datafactory.spe.engines.duckdb import DuckDBEngine
from datafactory.spe.engines.sql import SqlEngine
from datafactory.spe.engines.sqlite import SQLiteEngine
from datafactory.spe.parse import parse
from datafactory.spe.tables import ColumnSpec, TableSpec

PERSON = TableSpec(
    "person",
    (
        ColumnSpec("pseudonym", sensitivity="direct_identifier"),
        ColumnSpec("sex"),
        ColumnSpec("birth_year", "integer"),
    ),
    unit_unique=True,
)
CLAIM = TableSpec(
    "claim",
    (
        ColumnSpec("pseudonym", sensitivity="direct_identifier"),
        ColumnSpec("year", "integer"),
        ColumnSpec("amount", "decimal"),
    ),
)
REGION = TableSpec(
    "region", (ColumnSpec("name"), ColumnSpec("people", "integer")), unit=None
)
TABLES = {"person": PERSON, "claim": CLAIM, "region": REGION}
DATA = {
    "person": pa.table(
        {
            "pseudonym": ["a", "b", "c", "d"],
            "sex": ["F", "M", "F", None],
            "birth_year": [1980, 1990, 2000, 1970],
        }
    ),
    "claim": pa.table(
        {
            "pseudonym": ["a", "a", "b", "c", "c"],
            "year": [2020, 2021, 2020, 2021, 2021],
            "amount": [10.0, 5000.0, 20.0, 30.0, 40.0],
        }
    ),
    "region": pa.table({"name": ["north", "south", "east"], "people": [10, 20, None]}),
}


@pytest.fixture(params=[DuckDBEngine, SQLiteEngine], ids=["duckdb", "sqlite"])
def engine(request) -> SqlEngine:
    made: SqlEngine = request.param()
    for name, spec in TABLES.items():
        made.load(spec, DATA[name])
    return made


def test_engines_implement_the_protocol(engine):
    checked: QueryEngine = engine
    assert checked.name in ("duckdb", "sqlite")


def differences(engine, sql, earlier):
    analysis = parse(sql, TABLES)
    filters = [parse(q, TABLES).canonical_filter if q else None for q in earlier]
    return engine.population_differences(analysis, filters)


def test_population_differences_count_units_in_exactly_one_population(engine):
    assert differences(
        engine,
        "SELECT COUNT(*) AS n FROM person WHERE birth_year >= 1980",
        [
            "SELECT COUNT(*) AS n FROM person WHERE birth_year > 1980",
            "SELECT COUNT(*) AS n FROM person",
            "SELECT COUNT(*) AS n FROM person WHERE birth_year >= 1980",
            "SELECT COUNT(*) AS n FROM person WHERE sex = 'F'",
        ],
    ) == [1, 1, 0, 1]


def test_a_null_filter_result_counts_as_false(engine):
    assert differences(
        engine,
        "SELECT COUNT(*) AS n FROM person WHERE sex = 'F' OR sex = 'M'",
        ["SELECT COUNT(*) AS n FROM person WHERE sex IS NOT NULL"],
    ) == [0]


def test_a_person_with_a_differing_row_counts_even_if_in_both_populations(engine):
    """Claims above 1000 belong to one person who is also in the other population through
    small claims; the pair still isolates that person's large claim."""
    assert differences(
        engine,
        "SELECT SUM(amount) AS s FROM claim",
        ["SELECT SUM(amount) AS s FROM claim WHERE amount < 1000"],
    ) == [1]


def test_differences_without_a_unit_count_rows(engine):
    assert differences(
        engine,
        "SELECT SUM(people) AS s FROM region WHERE people > 5",
        ["SELECT SUM(people) AS s FROM region", None],
    ) == [1, 1]


def test_no_earlier_filters_needs_no_scan(engine):
    assert differences(engine, "SELECT COUNT(*) AS n FROM person", []) == []


def test_engine_errors_quote_no_value_of_the_data():
    engine = DuckDBEngine()
    engine.load(PERSON, DATA["person"])
    analysis = parse(
        "SELECT COUNT(*) AS n FROM person WHERE sex + 1 > 2",
        TABLES,
    )
    with pytest.raises(QueryFailed) as failed:
        engine.run(analysis)
    assert "'F'" not in failed.value.detail and "could not run" in failed.value.detail


def test_render_is_the_sql_run_executes(engine):
    analysis = parse("SELECT sex, COUNT(*) AS n FROM person GROUP BY sex", TABLES)
    rendered = engine.render(analysis)
    assert rendered.startswith("SELECT")
    assert '"person"' in rendered


def test_duckdb_settings_are_locked_and_limited():
    engine = DuckDBEngine(EngineLimits(memory="256MB", threads=1))
    connection = engine.raw_connection()
    settings = dict(
        connection.execute("SELECT name, value FROM duckdb_settings()").fetchall()
    )
    assert settings["enable_external_access"] == "false"
    assert settings["autoload_known_extensions"] == "false"
    assert settings["autoinstall_known_extensions"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["threads"] == "1"
    with pytest.raises(duckdb.Error, match="locked"):
        connection.execute("SET threads = 8")


def test_duckdb_workspace_tables_cannot_be_written():
    engine = DuckDBEngine()
    engine.load(PERSON, DATA["person"])
    connection = engine.raw_connection()
    for statement in (
        "INSERT INTO person VALUES ('z', 'F', 1)",
        "UPDATE person SET sex = 'X'",
        "DELETE FROM person",
    ):
        with pytest.raises(duckdb.Error):
            connection.execute(statement)
    result = engine.run(parse("SELECT COUNT(*) AS n FROM person", TABLES))
    assert result.column("n").to_pylist() == [4]


def test_sqlite_allows_only_reading_after_loading():
    engine = SQLiteEngine()
    engine.load(PERSON, DATA["person"])
    for statement in (
        "DELETE FROM person",
        "CREATE TABLE x (a)",
        "ATTACH ':memory:' AS other",
        "PRAGMA case_sensitive_like = OFF",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            engine._connection.execute(statement)


def test_an_engine_without_a_capability_says_so_by_name():
    class Bare(SqlEngine):
        name = "bare"
        dialect = "spark"

    analysis = parse("SELECT SUM(birth_year) AS s FROM person", TABLES)
    with pytest.raises(
        NotImplementedError, match="engine spark does not support top_two"
    ):
        Bare().render(analysis)
