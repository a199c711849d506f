"""The SQLite engine: a second implementation that keeps the engine seam honest (STYLE §8).

It runs the same analyses through sqlglot's SQLite dialect on the standard library's
``sqlite3``, in memory. What SQLite lacks is added as Python functions (median, sample
deviation and variance, second largest value) or overridden below with the reason. After
loading, an authoriser allows reading only, and a progress handler stops a query that runs
past the time limit. It has no memory limit of its own: it serves tests and small
workspaces, not production.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import threading
import time
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from sqlglot import exp

from datafactory.spe.config import EngineLimits
from datafactory.spe.engines.base import QueryFailed, QueryLimitExceeded
from datafactory.spe.engines.sql import SqlEngine
from datafactory.spe.tables import TableSpec

SQLITE_TYPES = {
    "string": "TEXT",
    "code": "TEXT",
    "integer": "INTEGER",
    "decimal": "REAL",
    "boolean": "INTEGER",
    "date": "TEXT",
    "datetime": "TEXT",
}
READ_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}


class _Values:
    """Collects a group's non-null values for a Python aggregate."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: Any) -> None:
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        raise NotImplementedError  # pragma: no cover - each subclass answers


class _Median(_Values):
    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


class _StdDev(_Values):
    def finalize(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else None


class _Variance(_Values):
    def finalize(self) -> float | None:
        return statistics.variance(self.values) if len(self.values) > 1 else None


class _SecondLargest(_Values):
    def finalize(self) -> float | None:
        return sorted(self.values)[-2] if len(self.values) > 1 else None


class SQLiteEngine(SqlEngine):
    name: ClassVar[str] = "sqlite"
    dialect: ClassVar[str] = "sqlite"

    def __init__(self, limits: EngineLimits | None = None) -> None:
        super().__init__()
        self.limits = limits or EngineLimits()
        self._connection = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._loading = False
        # SQLite's LIKE ignores the case of ASCII letters; DuckDB's (and the SQL
        # standard's) does not.
        self._connection.execute("PRAGMA case_sensitive_like = ON")
        for name, aggregate in (
            ("df_median", _Median),
            ("df_stddev_samp", _StdDev),
            ("df_var_samp", _Variance),
            ("df_second_largest", _SecondLargest),
        ):
            # typeshed wants finalize() -> int; SQLite takes any value it can store.
            self._connection.create_aggregate(name, 1, aggregate)  # type: ignore[arg-type]
        for name, function in (
            ("df_to_integer", _to_integer),
            ("df_to_double", _to_double),
            ("df_to_boolean", _to_boolean),
        ):
            self._connection.create_function(name, 1, function, deterministic=True)
        self._connection.create_function("floor", 1, _floor, deterministic=True)
        self._connection.create_function("ceil", 1, _ceil, deterministic=True)
        self._connection.set_authorizer(self._authorise)

    def _authorise(self, action: int, *_: object) -> int:
        if self._loading or action in READ_ACTIONS:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    def load(self, table: TableSpec, data: pa.Table) -> None:
        columns = [
            exp.ColumnDef(
                this=exp.to_identifier(c.name, quoted=True),
                kind=exp.DataType.build(SQLITE_TYPES[c.type], dialect="sqlite"),
            )
            for c in table.columns
        ]
        name = exp.to_table(table.name, quoted=True)
        create = exp.Create(
            this=exp.Schema(this=name, expressions=columns), kind="TABLE"
        )
        names = [c.name for c in table.columns]
        insert = exp.insert(
            exp.Values(
                expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in names])]
            ),
            name,
            columns=[exp.to_identifier(n, quoted=True) for n in names],
        )
        rows = [tuple(_bindable(row.get(n)) for n in names) for row in data.to_pylist()]
        with self._lock:
            self._loading = True
            try:
                self._connection.execute(create.sql(dialect="sqlite"))
                self._connection.executemany(insert.sql(dialect="sqlite"), rows)
                self._connection.commit()
            finally:
                self._loading = False
        self._specs[table.name] = table

    def date_part(self, part: str, value: exp.Expr) -> exp.Expr:
        # SQLite has no YEAR()/MONTH()/DAY(); dates are ISO text, read by strftime.
        pattern = {"year": "%Y", "month": "%m", "day": "%d"}[part]
        return exp.Cast(
            this=exp.Anonymous(
                this="strftime", expressions=[exp.Literal.string(pattern), value]
            ),
            to=exp.DataType.build("INTEGER"),
        )

    def cast(self, value: exp.Expr, to: str) -> exp.Expr:
        # SQLite's CAST turns text that is not a number into 0; the gate's CAST gives NULL
        # for a value that does not convert, as DuckDB's TRY_CAST does.
        if to in ("integer", "double", "boolean"):
            return exp.Anonymous(this=f"df_to_{to}", expressions=[value])
        return super().cast(value, to)

    def median(self, value: exp.Expr) -> exp.Expr:
        # SQLite has no median; sqlglot would write PERCENTILE_CONT, which it lacks too.
        return exp.Anonymous(this="df_median", expressions=[value])

    def std(self, value: exp.Expr) -> exp.Expr:
        return exp.Anonymous(this="df_stddev_samp", expressions=[value])

    def var(self, value: exp.Expr) -> exp.Expr:
        return exp.Anonymous(this="df_var_samp", expressions=[value])

    def top_two(self, value: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        # No max(x, n) in SQLite: MAX for the first, a Python aggregate for the second.
        return exp.Max(this=value), exp.Anonymous(
            this="df_second_largest", expressions=[value]
        )

    def _execute(self, sql: str) -> pa.Table:
        deadline = time.monotonic() + self.limits.timeout_seconds

        def past_deadline() -> int:
            return 1 if time.monotonic() > deadline else 0

        with self._lock:
            self._connection.set_progress_handler(past_deadline, 10_000)
            try:
                cursor = self._connection.execute(sql)
                rows = cursor.fetchall()
                names = [d[0] for d in cursor.description]
            except sqlite3.OperationalError as error:
                if "interrupted" in str(error):
                    raise QueryLimitExceeded(
                        f"the query ran longer than {self.limits.timeout_seconds:g} s "
                        "and was stopped"
                    ) from None
                raise QueryFailed(
                    f"the query could not run ({type(error).__name__})"
                ) from None
            except sqlite3.Error as error:
                raise QueryFailed(
                    f"the query could not run ({type(error).__name__})"
                ) from None
            finally:
                self._connection.set_progress_handler(None, 0)
        return _to_arrow(names, rows)


def _to_double(value: object) -> float | None:
    if value is None or isinstance(value, bytes):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except ValueError:
        return None


def _to_integer(value: object) -> int | None:
    number = _to_double(value)
    if number is None or not math.isfinite(number):
        return None
    # DuckDB rounds a fraction half away from zero when it casts to an integer.
    return int(math.copysign(math.floor(abs(number) + 0.5), number))


def _to_boolean(value: object) -> bool | None:
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in (
        "true",
        "false",
        "t",
        "f",
        "1",
        "0",
    ):
        return value.strip().lower() in ("true", "t", "1")
    return None


def _floor(value: float | None) -> float | None:
    return None if value is None else float(math.floor(value))


def _ceil(value: float | None) -> float | None:
    return None if value is None else float(math.ceil(value))


def _bindable(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _to_arrow(names: Sequence[str], rows: list[tuple[Any, ...]]) -> pa.Table:
    columns = {}
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        if name.startswith("__negative__"):
            # SQLite has no booleans: MAX(x < 0) is 0 or 1.
            values = [None if v is None else bool(v) for v in values]
        columns[name] = pa.array(values)
    return pa.table(columns) if names else pa.table({})
