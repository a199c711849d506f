"""The escape corpus: queries that try to leave the workspace or exhaust the engine.

Cases live as data in ``escapes/*.toml`` so the corpus grows without code. Each is refused by
the gate with its reason; where DuckDB itself would reach a file, an extension or a setting,
the raw SQL also runs on the engine's locked connection and must fail there too (defence in
depth: the gate is not the only wall).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from datafactory.spe.config import EngineLimits
from datafactory.spe.engines.base import QueryLimitExceeded
from datafactory.spe.engines.duckdb import DuckDBEngine
from datafactory.spe.engines.sqlite import SQLiteEngine
from datafactory.spe.parse import QueryRefused, parse
from datafactory.spe.tables import ColumnSpec, TableSpec

CORPUS = Path(__file__).parent / "escapes"

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
        ColumnSpec("care_type"),
        ColumnSpec("amount", "decimal"),
    ),
)
TABLES = {"person": PERSON, "claim": CLAIM}


def load_cases() -> list[Any]:
    cases = []
    for path in sorted(CORPUS.glob("*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            cases.append(pytest.param(case, id=f"{path.stem}-{case['id']}"))
    return cases


CASES = load_cases()


def small_data() -> dict[str, pa.Table]:
    return {
        "person": pa.table(
            {"pseudonym": ["a", "b"], "sex": ["F", "M"], "birth_year": [1980, 1990]}
        ),
        "claim": pa.table({"pseudonym": ["a"], "care_type": ["gp"], "amount": [1.0]}),
    }


@pytest.mark.parametrize("case", CASES)
def test_the_gate_refuses_each_escape(case):
    if case.get("expect", "refused") == "accepted":
        analysis = parse(case["sql"], TABLES)
        rendered = DuckDBEngine().render(analysis)
        assert case["rendered_excludes"].lower() not in rendered.lower()
        return
    with pytest.raises(QueryRefused) as refused:
        parse(case["sql"], TABLES)
    assert case["reason"].lower() in refused.value.detail.lower(), refused.value.detail


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.values[0].get("duckdb_refuses")]
)
def test_duckdb_itself_refuses_the_raw_escape(case):
    engine = DuckDBEngine()
    data = small_data()
    for spec in (PERSON, CLAIM):
        engine.load(spec, data[spec.name])
    connection = engine.raw_connection()
    with pytest.raises(duckdb.Error):
        connection.execute(case["sql"]).fetchall()
    # Whatever was tried, the locks still hold.
    settings = dict(
        connection.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'lock_configuration')"
        ).fetchall()
    )
    assert settings == {"enable_external_access": "false", "lock_configuration": "true"}


def test_the_corpus_covers_every_family_the_issue_names():
    ids = " ".join(c.values[0]["id"] for c in CASES)
    for family in (
        "read_csv", "read_parquet", "read_text", "glob", "copy", "export", "attach",
        "install", "load", "set", "pragma", "httpfs", "recursive-cte", "cross-join",
        "information-schema", "duckdb-tables", "sqlite-master", "comment", "quoted",
        "unicode", "two-statements",
    ):  # fmt: skip
        assert family in ids, family


def exploding_claims(rows: int) -> pa.Table:
    return pa.table(
        {
            "pseudonym": ["a"] * rows,
            "care_type": ["gp"] * rows,
            "amount": [1.0] * rows,
        }
    )


EXPLODING = (
    "SELECT COUNT(*) AS n FROM claim a JOIN claim b ON a.pseudonym = b.pseudonym "
    "JOIN claim c ON b.pseudonym = c.pseudonym JOIN claim d ON c.pseudonym = d.pseudonym"
)


@pytest.mark.parametrize(
    "engine_class", [DuckDBEngine, SQLiteEngine], ids=["duckdb", "sqlite"]
)
def test_an_accepted_query_that_explodes_hits_the_time_limit(engine_class):
    engine = engine_class(EngineLimits(timeout_seconds=0.5))
    engine.load(CLAIM, exploding_claims(3_000))
    with pytest.raises(QueryLimitExceeded, match=r"ran longer than 0.5 s"):
        engine.run(parse(EXPLODING, TABLES))


def test_an_accepted_query_that_needs_too_much_memory_hits_the_memory_limit():
    engine = DuckDBEngine(EngineLimits(memory="64MB", timeout_seconds=60))
    engine.load(CLAIM, exploding_claims(3_000))
    sql = (
        "SELECT COUNT(DISTINCT b.amount + a.amount * 1000000 + c.amount) AS n, "
        "MEDIAN(a.amount + b.amount + c.amount) AS m FROM claim a "
        "JOIN claim b ON a.pseudonym = b.pseudonym JOIN claim c ON b.pseudonym = c.pseudonym"
    )
    with pytest.raises(QueryLimitExceeded, match="memory|ran longer"):
        engine.run(parse(sql, TABLES))
