"""The DuckDB engine: the query gate's production engine.

One in-memory database per engine. It is opened with external access off (no files, no URLs,
no ``ATTACH``, ``COPY`` or ``EXPORT``), extensions neither installed nor loaded, automatic
extension loading off, memory and threads limited, and then the configuration is locked, so
no statement can turn any of that back on. A timer thread interrupts a query that runs past
the time limit.

What "read-only" means here: workspace tables are registered Arrow views, not DuckDB tables.
DuckDB cannot write into them (``INSERT`` into a view fails) and the Arrow buffers behind
them are immutable, so no SQL can change the data a later query reads. The catalogue itself
is not frozen: arbitrary SQL could still ``DROP`` a view or ``CREATE`` a temporary table in
this in-memory database. That is harmless because the engine only ever executes SQL it
rendered from an :class:`Analysis` (plain ``SELECT``s), never the user's text, and each
workspace query gets its own engine.
"""

from __future__ import annotations

import threading
from typing import ClassVar

import duckdb
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from sqlglot import exp

from datafactory.spe.config import EngineLimits
from datafactory.spe.engines.base import QueryFailed, QueryLimitExceeded
from datafactory.spe.engines.sql import SqlEngine
from datafactory.spe.tables import TableSpec


class DuckDBEngine(SqlEngine):
    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"

    def __init__(self, limits: EngineLimits | None = None) -> None:
        super().__init__()
        self.limits = limits or EngineLimits()
        self._connection = duckdb.connect(
            ":memory:",
            config={
                "enable_external_access": False,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "memory_limit": self.limits.memory,
                "threads": self.limits.threads,
                "lock_configuration": True,
            },
        )
        self._lock = threading.Lock()

    def load(self, table: TableSpec, data: pa.Table) -> None:
        with self._lock:
            self._connection.register(table.name, data)
        self._specs[table.name] = table

    def cast(self, value: exp.Expr, to: str) -> exp.Expr:
        # TRY_CAST: a failed conversion gives NULL, as in SQLite, instead of an error whose
        # presence would tell the user something about a row of the data.
        return exp.TryCast(this=value, to=exp.DataType.build(_CAST_TYPES[to]))

    def top_two(self, value: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        # DuckDB's max(x, n) keeps the n largest values in one pass: far cheaper than
        # ranking the rows of each cell with a window.
        second = exp.Bracket(
            this=exp.Max(this=value, count=exp.Literal.number(2)),
            expressions=[exp.Literal.number(1)],
        )
        return exp.Max(this=value), second

    def raw_connection(self) -> duckdb.DuckDBPyConnection:
        """The locked connection itself, for the security tests that check DuckDB refuses
        what the gate refuses. Nothing in the platform calls it."""
        return self._connection

    def _execute(self, sql: str) -> pa.Table:
        seconds = self.limits.timeout_seconds
        with self._lock:
            timer = threading.Timer(seconds, self._connection.interrupt)
            timer.daemon = True
            timer.start()
            try:
                result: pa.Table = self._connection.sql(sql).to_arrow_table()
            except duckdb.InterruptException:
                raise QueryLimitExceeded(
                    f"the query ran longer than {seconds:g} s and was stopped; narrow "
                    "it down or group by fewer columns"
                ) from None
            except duckdb.OutOfMemoryException:
                raise QueryLimitExceeded(
                    f"the query needed more than {self.limits.memory} of memory and was "
                    "stopped; narrow it down or join fewer rows"
                ) from None
            except duckdb.Error as error:
                raise QueryFailed(_failure(error)) from None
            finally:
                timer.cancel()
        return result


_CAST_TYPES = {
    "integer": "BIGINT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "boolean": "BOOLEAN",
}


def _failure(error: duckdb.Error) -> str:
    """A message for an engine error that quotes no value of the data: DuckDB's own text
    may ("Could not convert string 'Luxembourg' to INT32")."""
    kinds = {
        duckdb.ConversionException: "a value could not be converted to the type needed",
        duckdb.OutOfRangeException: "a value was out of range (an overflow?)",
        duckdb.BinderException: "the types of the expressions do not fit together",
    }
    for kind, text in kinds.items():
        if isinstance(error, kind):
            return f"the query could not run: {text}"
    return f"the query could not run ({type(error).__name__})"
