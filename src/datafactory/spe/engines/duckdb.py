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

Opening a locked database costs 15-40 ms (DuckDB builds its catalogue of functions), more
than a whole query over 100,000 rows, and its first query pays again to grow the memory
pool. So an engine borrows an idle database from a small pool, opened with the same limits,
and works in a connection of its own: registered tables are temporary views of that
connection, which no other connection sees and which go when it closes. One database serves
one engine at a time, so the memory and thread limits stay per query. An engine whose raw
connection was handed out (the security tests run arbitrary SQL on it) never returns its
database to the pool.
"""

from __future__ import annotations

import threading
import weakref
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
        database = _POOL.take(self.limits)
        self._connection = database.cursor()
        self._lease = _Lease(self.limits, database, self._connection)
        self._release = weakref.finalize(self, self._lease.end)
        self._lock = threading.Lock()
        self._sizes: dict[str, int] = {}

    def close(self) -> None:
        """Drop the registered tables and give the database back; the engine's garbage
        collection does the same."""
        self._release()

    def load(self, table: TableSpec, data: pa.Table) -> None:
        with self._lock:
            self._connection.register(table.name, data)
        self._specs[table.name] = table
        self._sizes[table.name] = data.num_rows

    def row_count(self, table: str) -> exp.Expr:
        # Arrow knows it; DuckDB's COUNT(*) over an Arrow view reads a column to count
        # (30 ms for 10 M rows, three times a filtered count).
        return exp.Literal.number(self._sizes[table])

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
        self._lease.reusable = False
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


def _open(limits: EngineLimits) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": limits.memory,
            "threads": limits.threads,
            "lock_configuration": True,
        },
    )


class _Pool:
    """Idle locked databases by their limits, at most ``keep`` of each kind."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._idle: dict[EngineLimits, list[duckdb.DuckDBPyConnection]] = {}
        self._lock = threading.Lock()

    def take(self, limits: EngineLimits) -> duckdb.DuckDBPyConnection:
        with self._lock:
            idle = self._idle.get(limits)
            if idle:
                return idle.pop()
        return _open(limits)

    def give(self, limits: EngineLimits, database: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(limits, [])
            if len(idle) < self.keep:
                idle.append(database)
                return
        database.close()


_POOL = _Pool()


class _Lease:
    """One engine's hold on a pooled database; ends when the engine is collected."""

    def __init__(
        self,
        limits: EngineLimits,
        database: duckdb.DuckDBPyConnection,
        connection: duckdb.DuckDBPyConnection,
    ) -> None:
        self.limits = limits
        self.database = database
        self.connection = connection
        self.reusable = True

    def end(self) -> None:
        self.connection.close()
        if self.reusable:
            _POOL.give(self.limits, self.database)
        else:
            self.database.close()


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
