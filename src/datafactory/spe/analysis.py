"""The closed analysis model of the query gate: what an accepted query may say.

The gate (``spe/parse.py``) turns the accepted subset of SQL into these frozen dataclasses;
engines (``spe/engines``) turn them back into SQL of their dialect. Nothing outside the model
can reach an engine, so the model is the language: a source (one workspace table, equi-joined
to others on declared keys), an optional filter, groups, aggregates and an order. Every node
checks itself on construction, like ehrQL's query-model nodes, so an invalid analysis cannot be
built by any path, parser or not.

Column references name a table by its *canonical alias* in the source (the table's name, or
``name_2``, ``name_3`` when a table is joined again), never by the alias the user typed: two
queries over the same tables then have the same source signature and comparable filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Literal as TypingLiteral
from typing import TypeAlias

from datafactory.spe.tables import TableSpec, UnitRows

RESERVED_PREFIX = "__"
"""Result columns starting with this are the engine's hidden per-cell statistics."""


class AggregateKind(StrEnum):
    """The statistics a result cell may hold; the gate maps each to ``privacy.sdc.Statistic``."""

    # The member shadows str.count on purpose: the names mirror privacy.sdc.Statistic.
    count = "count"  # type: ignore[assignment]
    count_distinct = "count_distinct"
    sum = "sum"
    mean = "mean"
    median = "median"
    std = "std"
    var = "var"
    min = "min"
    max = "max"

    @property
    def magnitude(self) -> bool:
        """Whether the cell's value adds up people's values, so that one large contributor
        could dominate it (the statistics the dominance and p% rules look at)."""
        return self in (AggregateKind.sum, AggregateKind.mean)


# --- Expressions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    table: str
    """The canonical alias of a table of the source."""
    name: str

    def children(self) -> tuple[Expr, ...]:
        return ()


LiteralValue: TypeAlias = str | int | Decimal | bool | None


@dataclass(frozen=True)
class Literal:
    value: LiteralValue

    def __post_init__(self) -> None:
        if isinstance(self.value, float):
            raise ValueError("number literals are int or Decimal, never float")

    def children(self) -> tuple[Expr, ...]:
        return ()


COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Compare:
    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if self.op not in COMPARISONS:
            raise ValueError(f"unknown comparison {self.op!r}")

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Logical:
    """``AND`` or ``OR`` of two or more conditions."""

    op: TypingLiteral["and", "or"]
    operands: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if self.op not in ("and", "or") or len(self.operands) < 2:
            raise ValueError("AND/OR takes two or more operands")

    def children(self) -> tuple[Expr, ...]:
        return self.operands


@dataclass(frozen=True)
class Not:
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class InList:
    operand: Expr
    values: tuple[Literal, ...]

    def __post_init__(self) -> None:
        if not self.values or not all(isinstance(v, Literal) for v in self.values):
            raise ValueError("IN takes a non-empty list of literals")

    def children(self) -> tuple[Expr, ...]:
        return (self.operand, *self.values)


@dataclass(frozen=True)
class Between:
    operand: Expr
    low: Expr
    high: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand, self.low, self.high)


@dataclass(frozen=True)
class IsNull:
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Like:
    operand: Expr
    pattern: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand, self.pattern)


ARITHMETIC = ("+", "-", "*", "/", "%")


@dataclass(frozen=True)
class Arithmetic:
    op: str
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if self.op not in ARITHMETIC:
            raise ValueError(f"unknown arithmetic operator {self.op!r}")

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Negate:
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


FUNCTIONS: dict[str, tuple[int, int]] = {
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "floor": (1, 1),
    "ceil": (1, 1),
    "round": (1, 2),
    "abs": (1, 1),
    "coalesce": (1, 16),
    "lower": (1, 1),
    "upper": (1, 1),
    "length": (1, 1),
}
"""The scalar functions an analysis may call, with their least and most arguments."""


@dataclass(frozen=True)
class Function:
    name: str
    args: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if self.name not in FUNCTIONS:
            raise ValueError(f"function {self.name!r} is not allowed")
        least, most = FUNCTIONS[self.name]
        if not least <= len(self.args) <= most:
            raise ValueError(f"{self.name} takes {least} to {most} arguments")

    def children(self) -> tuple[Expr, ...]:
        return self.args


CAST_TYPES = ("integer", "double", "string", "date", "boolean")


@dataclass(frozen=True)
class Cast:
    operand: Expr
    to: str

    def __post_init__(self) -> None:
        if self.to not in CAST_TYPES:
            raise ValueError(f"cannot cast to {self.to!r}")

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Case:
    """``CASE WHEN condition THEN literal … [ELSE literal] END``."""

    whens: tuple[tuple[Expr, Literal], ...]
    default: Literal | None = None

    def __post_init__(self) -> None:
        if not self.whens:
            raise ValueError("CASE needs at least one WHEN")
        results = [then for _, then in self.whens]
        if self.default is not None:
            results.append(self.default)
        if not all(isinstance(r, Literal) for r in results):
            raise ValueError("CASE results must be literals")

    def children(self) -> tuple[Expr, ...]:
        flat: list[Expr] = []
        for condition, then in self.whens:
            flat += [condition, then]
        return (*flat, *([self.default] if self.default is not None else []))


Expr: TypeAlias = (
    Column
    | Literal
    | Compare
    | Logical
    | Not
    | InList
    | Between
    | IsNull
    | Like
    | Arithmetic
    | Negate
    | Function
    | Cast
    | Case
)


def walk(expr: Expr) -> Iterator[Expr]:
    """The expression and every node below it, parents first."""
    yield expr
    for child in expr.children():
        yield from walk(child)


def columns_of(expr: Expr) -> Iterator[Column]:
    for node in walk(expr):
        if isinstance(node, Column):
            yield node


# --- Source ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRef:
    table: str
    """The workspace table's name, as its :class:`TableSpec` spells it."""
    alias: str
    """The canonical alias: the table's name, or ``name_2``… for a repeated table."""


@dataclass(frozen=True)
class Join:
    table: TableRef
    kind: TypingLiteral["inner", "left"]
    on: tuple[tuple[Column, Column], ...]
    """Equalities, each ``(column of an earlier table, column of this table)``."""

    def __post_init__(self) -> None:
        if self.kind not in ("inner", "left"):
            raise ValueError("only INNER and LEFT joins")
        if not self.on:
            raise ValueError("a join needs at least one equality")
        for earlier, this in self.on:
            if this.table != self.table.alias or earlier.table == self.table.alias:
                raise ValueError(
                    "a join equality compares an earlier table to this one"
                )


@dataclass(frozen=True)
class Source:
    base: TableRef
    joins: tuple[Join, ...] = ()

    def __post_init__(self) -> None:
        aliases = [t.alias for t in self.tables]
        if len(set(aliases)) != len(aliases):
            raise ValueError("table aliases of a source must differ")
        seen = {self.base.alias}
        for join in self.joins:
            for earlier, _ in join.on:
                if earlier.table not in seen:
                    raise ValueError(f"join on {earlier.table}, not joined yet")
            seen.add(join.table.alias)

    @property
    def tables(self) -> tuple[TableRef, ...]:
        return (self.base, *(j.table for j in self.joins))

    @property
    def signature(self) -> str:
        """A canonical text for the tables and joins: two queries with the same signature
        read the same rows before their filters."""
        parts = [self.base.table]
        for join in self.joins:
            equalities = " AND ".join(
                f"{a.table}.{a.name} = {b.table}.{b.name}"
                for a, b in sorted(join.on, key=repr)
            )
            parts.append(
                f"{join.kind.upper()} JOIN {join.table.table} AS {join.table.alias} ON {equalities}"
            )
        return " ".join(parts)


# --- Results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    expr: Expr
    alias: str


@dataclass(frozen=True)
class Aggregate:
    kind: AggregateKind
    argument: Expr | None
    """None only for ``COUNT(*)``."""
    alias: str

    def __post_init__(self) -> None:
        if self.argument is None and self.kind is not AggregateKind.count:
            raise ValueError(f"{self.kind} needs an argument")


@dataclass(frozen=True)
class OrderItem:
    alias: str
    descending: bool = False
    nulls_first: bool = False


@dataclass(frozen=True)
class Analysis:
    source: Source
    specs: tuple[TableSpec, ...]
    """The spec of each table of the source, in the order of ``source.tables``."""
    filter: Expr | None
    groups: tuple[Group, ...]
    aggregates: tuple[Aggregate, ...]
    columns: tuple[str, ...]
    """The output aliases in the order the query selected them."""
    order: tuple[OrderItem, ...] = ()

    def __post_init__(self) -> None:
        if len(self.specs) != len(self.source.tables):
            raise ValueError("one spec per table of the source")
        if not self.aggregates:
            raise ValueError("an analysis has at least one aggregate")
        aliases = [*(g.alias for g in self.groups), *(a.alias for a in self.aggregates)]
        if len({a.lower() for a in aliases}) != len(aliases):
            raise ValueError("output aliases must differ")
        if any(a.startswith(RESERVED_PREFIX) for a in aliases):
            raise ValueError(f"output aliases may not start with {RESERVED_PREFIX}")
        if sorted(self.columns) != sorted(aliases):
            raise ValueError("columns must list every group and aggregate alias once")
        if any(o.alias not in aliases for o in self.order):
            raise ValueError("ORDER BY names output columns only")
        known = {
            (ref.alias, c.name)
            for ref, spec in zip(self.source.tables, self.specs, strict=True)
            for c in spec.columns
        }
        for expr in self._expressions():
            for column in columns_of(expr):
                if (column.table, column.name) not in known:
                    raise ValueError(f"no column {column.table}.{column.name}")

    def _expressions(self) -> Iterator[Expr]:
        if self.filter is not None:
            yield self.filter
        for group in self.groups:
            yield group.expr
        for aggregate in self.aggregates:
            if aggregate.argument is not None:
                yield aggregate.argument
        for join in self.source.joins:
            for pair in join.on:
                yield from pair

    @property
    def base_spec(self) -> TableSpec:
        return self.specs[0]

    @property
    def unit(self) -> Column | None:
        """The column naming the person each row is about: the base table's unit."""
        if self.base_spec.unit is None:
            return None
        return Column(self.source.base.alias, self.base_spec.unit)

    @property
    def rows_are_units(self) -> bool:
        """Whether each row of the source is a different unit, so counting rows counts
        people and a row's value is that person's whole contribution."""
        if self.source.joins:
            return False
        return self.base_spec.unit is None or self.base_spec.unit_unique

    @property
    def unit_rows(self) -> UnitRows | None:
        """How the source's rows are spread over units, when it is known: one row each
        where rows are units, the base table's measurement for one table alone. A join
        can multiply a unit's rows, so a joined source has none."""
        if self.source.joins:
            return None
        if self.rows_are_units:
            return UnitRows(most=1, without_unit=0)
        return self.base_spec.unit_rows

    @property
    def group_aliases(self) -> tuple[str, ...]:
        return tuple(g.alias for g in self.groups)

    @property
    def aggregate_aliases(self) -> tuple[str, ...]:
        return tuple(a.alias for a in self.aggregates)

    @cached_property
    def canonical_filter(self) -> str | None:
        """The filter as DuckDB SQL over canonical aliases, for the query ledger; the
        engines' ``population_differences`` reads it back through the gate."""
        if self.filter is None:
            return None
        # The neutral SQL builder lives with the engines, which import this module.
        from datafactory.spe.engines.sql import canonical_sql

        return canonical_sql(self.filter)
