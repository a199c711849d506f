"""The ``spec_test`` fixture: one query, small text tables, the expected rows, on every
engine and in every mode (STYLE §9).

Tables are written as text. The header names the columns, each optionally typed and flagged
``name:type`` or ``name:type:key`` (a declared join key); the type defaults to ``string``. A
column named ``pseudonym`` is the unit and a direct identifier; the table is ``unit_unique``
when its pseudonyms do not repeat. An empty cell is NULL::

    person | birth_year:integer | region
    p1     | 1980               | north
    p2     |                    | north

Modes: ``run`` loads the tables, runs the query and compares the visible result columns (or
``columns=``) with the expected rows, in any order unless the query orders them, floats
approximately. ``render`` checks the engine renders the analysis as SQL its own dialect reads
back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import sqlglot

from datafactory.spe.engines.duckdb import DuckDBEngine
from datafactory.spe.engines.sql import SqlEngine
from datafactory.spe.engines.sqlite import SQLiteEngine
from datafactory.spe.parse import parse
from datafactory.spe.tables import UNIT_COLUMN, ColumnSpec, TableSpec

ENGINES: dict[str, Callable[[], SqlEngine]] = {
    "duckdb": DuckDBEngine,
    "sqlite": SQLiteEngine,
}
ARROW_TYPES = {
    "string": pa.string(),
    "code": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}

SpecTest = Callable[..., None]


def table_from_text(name: str, text: str) -> tuple[TableSpec, pa.Table]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split("|")]
    specs, keys = [], []
    for cell in header:
        column, _, rest = cell.partition(":")
        kind, _, flag = rest.partition(":")
        sensitivity = "direct_identifier" if column == UNIT_COLUMN else "other"
        specs.append(ColumnSpec(column, kind or "string", sensitivity=sensitivity))
        if flag == "key":
            keys.append(column)
    rows = [[cell.strip() for cell in line.split("|")] for line in lines[1:]]
    arrays = {}
    for index, spec in enumerate(specs):
        values = [_value(row[index], spec.type) for row in rows]
        arrays[spec.name] = pa.array(values, type=ARROW_TYPES[spec.type])
    names = [s.name for s in specs]
    unit = UNIT_COLUMN if UNIT_COLUMN in names else None
    unique = unit is not None and len(set(arrays[unit].to_pylist())) == len(rows)
    spec = TableSpec(
        name, tuple(specs), unit=unit, unit_unique=unique, keys=tuple(keys)
    )
    return spec, pa.table(arrays)


def _value(text: str, kind: str) -> Any:
    if text == "":
        return None
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return float(text)
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "date":
        return date.fromisoformat(text)
    return text


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _matches(actual: Sequence[Any], expected: Sequence[Any]) -> bool:
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected, strict=True):
        a, e = _normal(a), _normal(e)
        if isinstance(e, float) or isinstance(a, float):
            if a is None or e is None or a != pytest.approx(e, rel=1e-8, abs=1e-9):
                return False
        elif a != e:
            return False
    return True


def _compare(
    actual: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], ordered: bool
) -> None:
    if ordered:
        assert len(actual) == len(expected), (actual, expected)
        for a, e in zip(actual, expected, strict=True):
            assert _matches(a, e), (actual, expected)
        return
    remaining = list(actual)
    for e in expected:
        match = next((a for a in remaining if _matches(a, e)), None)
        assert match is not None, f"expected row {e} not in {actual}"
        remaining.remove(match)
    assert not remaining, f"unexpected rows {remaining}"


@pytest.fixture(
    params=[(engine, mode) for engine in ENGINES for mode in ("run", "render")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def spec_test(request: pytest.FixtureRequest) -> SpecTest:
    engine_name, mode = request.param

    def check(
        tables: dict[str, str],
        sql: str,
        expected: list[tuple[Any, ...]],
        *,
        columns: Sequence[str] | None = None,
    ) -> None:
        loaded = {name: table_from_text(name, text) for name, text in tables.items()}
        specs = {name: spec for name, (spec, _) in loaded.items()}
        analysis = parse(sql, specs)
        engine = ENGINES[engine_name]()
        if mode == "render":
            rendered = engine.render(analysis)
            reread = sqlglot.parse_one(rendered, read=engine.dialect)
            names = [e.alias_or_name for e in reread.expressions]
            assert names[: len(analysis.columns)] == list(analysis.columns)
            return
        for spec, data in loaded.values():
            engine.load(spec, data)
        result = engine.run(analysis)
        wanted = list(columns or analysis.columns)
        rows = [
            tuple(row[c] for c in wanted) for row in result.select(wanted).to_pylist()
        ]
        _compare(rows, expected, ordered=bool(analysis.order))

    return check
